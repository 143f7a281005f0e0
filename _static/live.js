// "Run the example live": the example's code cells become editable cells run by a local
// Jupyter kernel, through thebe 0.9.3 served from this site's _static/thebe/.
// Nothing is fetched before the button is pressed. Then, in order: live-server.json (tools/live.py
// answers it with its server's address and token; a plain build names no server), a quick
// check that the server answers, thebe itself, and a kernel.
(function () {
  "use strict";

  var CELL = "data-live-cell";
  var OUTPUT = "data-live-output";
  var PROBE_MS = 5000;      // a server on loopback answers at once; refused connections fail faster
  var START_MS = 120000;    // kernel start, generous for a busy machine
  var FAILURES = ["error", "server-error", "session-error"];   // not "execute-error": that is a cell raising

  // The status line: plain text pieces, with `backticks` shown as code.
  function say(box, state, text) {
    var status = box.querySelector(".live-status");
    box.setAttribute("data-state", state);
    status.textContent = "";
    text.split("`").forEach(function (piece, i) {
      if (!piece) return;
      if (i % 2) {
        var code = document.createElement("code");
        code.textContent = piece;
        status.appendChild(code);
      } else {
        status.appendChild(document.createTextNode(piece));
      }
    });
  }

  var HOWTO = "Live code runs on a Jupyter server on your own machine. In a checkout of the " +
    "repository run `make live`, open the address it prints, and press the button again.";

  function unavailable(box, button, why) {
    say(box, "unavailable", (why ? why + " " : "") + HOWTO);
    button.disabled = false;
  }

  function withTimeout(promise, ms, message) {
    var timer;
    var timeout = new Promise(function (_, reject) {
      timer = setTimeout(function () { reject(new Error(message)); }, ms);
    });
    return Promise.race([promise, timeout]).then(
      function (value) { clearTimeout(timer); return value; },
      function (error) { clearTimeout(timer); throw error; });
  }

  function readConfig(url) {
    return fetch(url, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("no " + url);
      return response.json();
    }).then(function (config) {
      if (!config || typeof config.url !== "string" || !/^https?:\/\//.test(config.url)) return null;
      var url = config.url.replace(/\/*$/, "/");
      return { url: url, token: String(config.token || "") };
    }).catch(function () { return null; });
  }

  // Does the server answer, accept this page's origin and token, and offer a python3 kernel?
  function probe(server) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, PROBE_MS);
    var url = server.url + "api/kernelspecs?token=" + encodeURIComponent(server.token);
    return fetch(url, { cache: "no-store", credentials: "omit", signal: controller.signal })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          throw new Error("The Jupyter server at " + server.url + " refused the token.");
        }
        if (!response.ok) throw new Error("The Jupyter server at " + server.url + " answered " + response.status + ".");
        return response.json();
      }, function () {
        throw new Error("No Jupyter server answered at " + server.url +
          " (it is not running, or was started for another address than this page's).");
      })
      .then(function (specs) {
        if (!specs || !specs.kernelspecs || !specs.kernelspecs.python3) {
          throw new Error("The Jupyter server at " + server.url + " has no python3 kernel.");
        }
      })
      .finally(function () { clearTimeout(timer); });
  }

  function load(tag, url) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      if (tag === "link") {
        el.rel = "stylesheet";
        el.href = url;
      } else {
        el.src = url;
        el.async = true;
      }
      el.onload = resolve;
      el.onerror = function () { reject(new Error("Could not load " + url + ".")); };
      document.head.appendChild(el);
    });
  }

  function loadThebe(script) {
    if (window.thebe && typeof window.thebe.bootstrap === "function") return Promise.resolve(window.thebe);
    var css = script.replace(/index\.js$/, "thebe.css");
    return Promise.all([load("link", css), load("script", script)]).then(function () {
      if (!window.thebe || typeof window.thebe.bootstrap !== "function") {
        throw new Error("The live-code library did not start.");
      }
      return window.thebe;
    });
  }

  // thebe pairs the i-th cell with the i-th output area, and a cell that printed nothing has
  // no output block: give every cell its own empty live output, right under it, and fold the
  // outputs from the build into a closed <details> below that.
  function prepareCells() {
    var cells = Array.prototype.slice.call(document.querySelectorAll(".mapping-example div.example-code"));
    cells.forEach(function (code) {
      var built = [];
      for (var next = code.nextElementSibling; next && next.classList.contains("example-output");
        next = next.nextElementSibling) {
        built.push(next);
      }
      code.setAttribute(CELL, "");
      code.setAttribute("data-language", "python");
      var live = document.createElement("div");
      live.className = "live-output";
      live.setAttribute(OUTPUT, "");
      code.parentNode.insertBefore(live, code.nextSibling);
      if (built.length) {
        var details = document.createElement("details");
        details.className = "live-built-output";
        var summary = document.createElement("summary");
        summary.textContent = "Output when this page was built";
        details.appendChild(summary);
        built.forEach(function (block) { details.appendChild(block); });
        live.parentNode.insertBefore(details, live.nextSibling);
      }
    });
  }

  // CodeMirror's input is a bare textarea: name each one for screen readers.
  function labelEditors() {
    var editors = document.querySelectorAll(".mapping-example .thebe-cell");
    Array.prototype.forEach.call(editors, function (cell, i) {
      var input = cell.querySelector("textarea");
      var tab = cell.closest(".sd-tab-content");
      var label = tab && tab.previousElementSibling ? tab.previousElementSibling.textContent.trim() + " " : "";
      if (input) {
        input.setAttribute("aria-label", label + "code cell " + (i + 1) + " of " + editors.length +
          ", editable; Shift-Enter runs it, Escape leaves the editor");
      }
    });
  }

  function options(server) {
    return {
      useBinder: false,
      useJupyterLite: false,
      requestKernel: true,
      mountStatusWidget: false,
      mountActivateWidget: false,
      mountRunButton: true,
      mountRunAllButton: true,
      mountRestartButton: true,
      mountRestartAllButton: false,
      selector: "[" + CELL + "]",
      outputSelector: "[" + OUTPUT + "]",
      serverSettings: {
        baseUrl: server.url,
        wsUrl: server.url.replace(/^http/, "ws"),
        token: server.token,
        appendToken: true,
      },
      kernelOptions: { kernelName: "python3", path: "/" },
      mathjaxUrl: "",    // its default is a CDN; the examples print no LaTeX
      // Wrapped lines: no editor that scrolls sideways (and so no scroll region without a tab stop).
      codeMirrorConfig: { lineNumbers: false, lineWrapping: true, theme: darkMode() ? "darcula" : "default" },
    };
  }

  // furo's colour scheme: body[data-theme] is "light", "dark" or "auto" (follow the system).
  function darkMode() {
    var theme = document.body.getAttribute("data-theme");
    if (theme === "dark") return true;
    if (theme === "light") return false;
    return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }

  // Leaving the page ends its kernel, rather than leaving it to the server's idle culling.
  function endSessionOnLeave(server, session) {
    var id = session && session.connection && session.connection.id;
    if (!id) return;
    window.addEventListener("pagehide", function () {
      try {
        fetch(server.url + "api/sessions/" + encodeURIComponent(id) + "?token=" + encodeURIComponent(server.token),
          { method: "DELETE", keepalive: true, credentials: "omit" }).catch(function () {});
      } catch (e) { /* the page is going away either way */ }
    }, { once: true });
  }

  function start(box, button) {
    if (button.disabled) return;
    button.disabled = true;
    say(box, "checking", "Looking for a local Jupyter server…");
    var server;
    readConfig(box.getAttribute("data-config")).then(function (found) {
      if (!found) {
        unavailable(box, button, "This site was not started with a Jupyter server.");
        return null;
      }
      server = found;
      return probe(server).then(function () { return true; }, function (error) {
        unavailable(box, button, error.message);
        return null;
      });
    }).then(function (ok) {
      if (!ok) return null;
      say(box, "loading", "Loading the live-code library…");
      return loadThebe(box.getAttribute("data-thebe")).then(function (thebe) {
        var live = false, over = false;
        var react = function (name, data) {
          if (!data || over) return;
          if (name === "error" && FAILURES.indexOf(data.status) !== -1) {
            over = true;
            say(box, live ? "closed" : "failed",
              (live ? "Lost the kernel or the Jupyter server (" : "Could not start a kernel (") +
              (data.message || data.status) + "). Is `make live` still running? Reload the page to start again.");
          } else if (name === "status" && !live) {
            if (data.subject === "server") say(box, "starting", "Connecting to the Jupyter server…");
            if (data.subject === "session" || data.subject === "kernel") say(box, "starting", "Starting a Python kernel…");
          }
          // A "shutdown" status also comes with a kernel restart: only the errors above mean it is gone.
        };
        thebe.on("status", react);
        thebe.on("error", react);
        prepareCells();
        say(box, "starting", "Connecting to the Jupyter server…");
        var booting = thebe.bootstrap(options(server));   // the editors exist once this returns
        labelEditors();
        return withTimeout(booting, START_MS, "no kernel after " + START_MS / 1000 + " s")
          .then(function (result) {
            if (!result || !result.session) throw new Error("the server started no session");
            if (over) return;
            live = true;
            endSessionOnLeave(server, result.session);
              button.hidden = true;
            say(box, "ready", "Live: the cells below run in a Python kernel on " + server.url.replace(/\/$/, "") +
              ". Edit any cell and run it with its run button or Shift-Enter; run the first cell first, " +
              "it holds the imports.");
          });
      });
    }).catch(function (error) {
      var why = String(error && error.message ? error.message : error).replace(/[.\s]*$/, "");
      say(box, "failed", "Could not start live code (" + why + "). Is `make live` still running? " +
        "Reload the page to try again.");
    });
  }

  function setup() {
    var box = document.querySelector(".live-launch");
    if (!box) return;
    var button = box.querySelector(".live-button");
    box.hidden = false;
    button.addEventListener("click", function () { start(box, button); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
