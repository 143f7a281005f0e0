// "Run the example live": one press starts a Python kernel of this page's own on the local
// server `make live` runs (tools/live.py), turns the example's code cells into editable cells
// (thebe 0.9.3, served from this site's _static/thebe/) and runs them in order, each output
// appearing under its cell.
//
// The key. `make live` prints an address ending in #live-key=<key>. Browsers never send that
// fragment to a server; the page at / (or this script, on a page opened with it) keeps the key
// in this tab's sessionStorage, which no other origin can read, and removes it from the address
// bar. The key goes only to this page's own origin: in the Authorization header of API
// requests, and as a WebSocket subprotocol for the kernel's connection (a browser cannot set
// headers on a WebSocket). It is never put in a URL, and thebe never sees it (it gets a fetch
// and a WebSocket that add it), so thebe's debug output cannot print it. A tab opened without
// the key borrows it from another open page of this site, over a BroadcastChannel (which, like
// sessionStorage, stays within the origin).
//
// Nothing is fetched before the button is pressed. Then, in order: live-server.json (the live
// server says where its API is, and never anything secret; a plain build names no server), a
// session with a kernel of this page view's own (which also checks that the server takes the
// key) while thebe itself loads, and the cells.
(function () {
  "use strict";

  var CELL = "data-live-cell";
  var OUTPUT = "data-live-output";
  var KEY_ITEM = "mapsite-live-key";          // sessionStorage: this tab's key for the local server
  var KEY_FRAGMENT = /(?:^#|&)live-key=([A-Za-z0-9_-]+)/;
  var KEY_PROTOCOL = "mapsite-live-key.";     // WebSocket subprotocol carrying the key
  var CHANNEL = "mapsite-live";               // tabs of this origin lend each other the key
  var ASK_MS = 400;         // how long to wait for another tab to answer
  var SESSION_MS = 60000;   // a forked kernel starts in well under a second; refused connections fail at once
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

  var HOWTO = "Live code runs on a server on your own machine. In a checkout of the " +
    "repository run `make live`, open the address it prints (it ends in `#live-key=…`), come back " +
    "to this page in that tab, and press the button again.";

  function unavailable(box, button, why) {
    say(box, "unavailable", (why ? why + " " : "") + HOWTO);
    button.removeAttribute("aria-disabled");
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

  // -- The key --------------------------------------------------------------------------------

  function storedKey() {
    try { return sessionStorage.getItem(KEY_ITEM) || ""; } catch (e) { return ""; }
  }

  function storeKey(key) {
    try { sessionStorage.setItem(KEY_ITEM, key); } catch (e) { /* storage disabled: the key lives in memory */ }
    memoryKey = key;
  }

  function forgetKey() {
    try { sessionStorage.removeItem(KEY_ITEM); } catch (e) { /* nothing stored */ }
    memoryKey = "";
  }

  var memoryKey = "";

  function currentKey() {
    return storedKey() || memoryKey;
  }

  // A page opened with the address `make live` printed: keep the key, drop it from the address.
  function takeKeyFromAddress() {
    var found = KEY_FRAGMENT.exec(location.hash);
    if (!found) return;
    storeKey(found[1]);
    try {
      history.replaceState(history.state, "", location.pathname + location.search);
    } catch (e) { location.hash = ""; }
  }

  // Answer other tabs of this origin that ask for the key (only pages of this site are on it).
  function lendKey() {
    if (typeof BroadcastChannel !== "function") return;
    var channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = function (event) {
      var key = currentKey();
      if (event.data && event.data.ask === true && key) channel.postMessage({ key: key });
    };
  }

  function borrowKey() {
    return new Promise(function (resolve) {
      if (typeof BroadcastChannel !== "function") { resolve(""); return; }
      var channel = new BroadcastChannel(CHANNEL);
      var timer = setTimeout(function () { channel.close(); resolve(""); }, ASK_MS);
      channel.onmessage = function (event) {
        var key = event.data && event.data.key;
        if (typeof key === "string" && /^[A-Za-z0-9_-]{32,}$/.test(key)) {
          clearTimeout(timer);
          channel.close();
          storeKey(key);
          resolve(key);
        }
      };
      channel.postMessage({ ask: true });
    });
  }

  function findKey() {
    var key = currentKey();
    return key ? Promise.resolve(key) : borrowKey();
  }

  // -- Requests: the key only in a header, only to this page's own origin -----------------------

  function ownOrigin(url) {
    try {
      return new URL(url, location.href).origin === location.origin;
    } catch (e) { return false; }
  }

  function keyedFetch(key) {
    return function (input, init) {
      var request = new Request(input, init);
      if (!ownOrigin(request.url)) return Promise.reject(new TypeError("live code talks to this site's own server only"));
      request.headers.set("Authorization", "token " + key);
      if (request.method !== "GET" && request.method !== "HEAD" && !request.headers.has("Content-Type")) {
        request.headers.set("Content-Type", "application/json");
      }
      return fetch(request);
    };
  }

  function keyedWebSocket(key) {
    return class KeyedWebSocket extends WebSocket {
      constructor(url, protocols) {
        if (!ownOrigin(String(url).replace(/^ws/, "http"))) {
          throw new Error("live code talks to this site's own server only");
        }
        var offered = protocols == null ? [] : [].concat(protocols);
        super(url, offered.concat([KEY_PROTOCOL + key]));
      }
    };
  }

  // -- The server -----------------------------------------------------------------------------

  // live-server.json: {"url": "jupyter/"} from the live server, {"url": null} from a plain build.
  function readConfig(url) {
    return fetch(url, { cache: "no-store", credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error("no " + url);
      return response.json();
    }).then(function (config) {
      if (!config || typeof config.url !== "string" || !config.url) return null;
      var server = new URL(config.url, new URL(url, location.href)).href.replace(/\/*$/, "/");
      return ownOrigin(server) ? server : null;    // the key never leaves this origin
    }).catch(function () { return null; });
  }

  // A session (and so a kernel) of this page view's own, started before thebe loads, so the kernel
  // boots while the browser reads thebe. thebe then asks for a session at the same path and the
  // server hands it this one. It is also the check that the server is there and takes the key.
  function startSession(server, key, path) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, SESSION_MS);
    var body = JSON.stringify({ path: path, name: path, type: "notebook", kernel: { name: "python3" } });
    return keyedFetch(key)(server + "api/sessions",
      { method: "POST", body: body, cache: "no-store", credentials: "omit", signal: controller.signal })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          forgetKey();
          throw new Error("The live server did not accept this tab's key (was `make live` restarted?).");
        }
        var json = /json/.test(response.headers.get("Content-Type") || "");
        if (response.status === 501 && json) throw new Error("The live server has no python3 kernel.");
        if (!response.ok || !json) throw new Error("No live server answered here (this address answered " + response.status + ").");
        return response.json();
      }, function () {
        throw new Error("No live server answered here.");
      })
      .then(function (session) {
        if (!session || !session.id) throw new Error("The live server started no session.");
        return session;
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

  // -- The cells ------------------------------------------------------------------------------

  // thebe pairs the i-th cell with the i-th output area, and a cell that printed nothing has
  // no output block: give every cell its own empty live output, right under it, and fold the
  // outputs from the build into a closed <details> below that.
  function prepareCells() {
    var cells = Array.prototype.slice.call(document.querySelectorAll(".mapping-example div.example-code"));
    cells.forEach(function (code) {
      // thebe runs a cell's text content: sphinx-copybutton's button (its SVG has a <title>)
      // would become a line of code, so it goes once the page turns live.
      Array.prototype.forEach.call(code.querySelectorAll(".copybtn"), function (button) { button.remove(); });
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
    return cells.length;
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

  // The button is gone: keyboard focus goes to the first cell's editor, not to <body>.
  function focusFirstCell() {
    var first = document.querySelector(".mapping-example .thebe-cell");
    if (!first) return;
    var editor = first.querySelector(".CodeMirror");
    if (editor && editor.CodeMirror && typeof editor.CodeMirror.focus === "function") {
      editor.CodeMirror.focus();
    } else {
      var input = first.querySelector("textarea");
      if (input) input.focus();
    }
  }

  function randomId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function options(server, key, path) {
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
        baseUrl: server,
        wsUrl: server.replace(/^http/, "ws"),
        token: "",               // thebe holds no key: its fetch and WebSocket add it
        appendToken: false,
        fetch: keyedFetch(key),
        WebSocket: keyedWebSocket(key),
        init: { cache: "no-store", credentials: "omit" },
      },
      // A session path of this page view's own: the server gives every session its own kernel.
      kernelOptions: { kernelName: "python3", path: path },
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

  // Leaving the page ends its kernel (the server would also end it once its WebSocket is gone).
  function endSessionOnLeave(server, key, id) {
    window.addEventListener("pagehide", function () {
      try {
        fetch(server + "api/sessions/" + encodeURIComponent(id),
          { method: "DELETE", keepalive: true, credentials: "omit", headers: { Authorization: "token " + key } })
          .catch(function () {});
      } catch (e) { /* the page is going away either way */ }
    }, { once: true });
  }

  // Timings for benchmarks/live_bench.py and the browser's performance tools.
  function mark(name) {
    try { performance.mark("mapsite-live:" + name); } catch (e) { /* no User Timing */ }
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  // Every cell in page order, each waiting for the one before; the first error stops the run.
  function runAll(box, notebook) {
    var cells = notebook.cells || [];
    var started = performance.now();
    say(box, "running", "Running the example: " + plural(cells.length, "cell") + ", in order…");
    var index = 0;
    function next() {
      if (index >= cells.length) {
        var seconds = ((performance.now() - started) / 1000).toFixed(1);
        say(box, "done", "Done: all " + plural(cells.length, "cell") + " ran in " + seconds + " s, in a Python " +
          "kernel of this page's own; each output is under its cell. Edit any cell and run it again with " +
          "Shift-Enter or its run button.");
        return null;
      }
      var cell = cells[index++];
      return cell.execute(cell.source).then(function (result) {
        if (!result) throw new Error("cell " + index + " could not be run");
        mark("cell-" + index);
        if (result.error && result.error.length) {
          var error = result.error[0];
          say(box, "error", "Cell " + index + " of " + cells.length + " stopped with " + error.ename +
            (error.evalue ? ": " + error.evalue : "") + " (the traceback is under it); the cells after it did not run. " +
            "Fix it and run it with Shift-Enter.");
          return null;
        }
        return next();
      });
    }
    return next();
  }

  function start(box, button) {
    if (button.getAttribute("aria-disabled") === "true") return;
    // Not `disabled`: a disabled button drops keyboard focus to <body>.
    button.setAttribute("aria-disabled", "true");
    mark("click");
    say(box, "checking", "Looking for the live server…");
    var server, key, prepared = false;
    // A session path of this page view's own: the server gives every session its own kernel.
    var path = "page-view-" + randomId() + ".ipynb";
    readConfig(box.getAttribute("data-config")).then(function (found) {
      if (!found) {
        unavailable(box, button, "This site was not started with a live server.");
        return null;
      }
      server = found;
      return findKey().then(function (found) {
        if (!found) {
          unavailable(box, button, "This tab has no key for the live server.");
          return null;
        }
        key = found;
        say(box, "starting", "Starting a Python kernel for this page…");
        // thebe loads while the kernel starts; it is only used if the session came.
        var library = loadThebe(box.getAttribute("data-thebe"));
        library.catch(function () { /* reported below, if the session came */ });
        return startSession(server, key, path).then(function (session) {
          mark("session");
          endSessionOnLeave(server, key, session.id);
          return library;
        }, function (error) {
          unavailable(box, button, error.message);
          return null;
        });
      });
    }).then(function (thebe) {
      if (!thebe) return null;
      mark("library");
      var live = false, over = false;
      var react = function (name, data) {
        if (!data || over) return;
        if (name === "error" && FAILURES.indexOf(data.status) !== -1) {
          over = true;
          say(box, live ? "closed" : "failed", live
            ? "This page's kernel is gone (" + (data.message || data.status) + "): kernels end after 30 idle " +
              "minutes, and when `make live` stops. Reload the page to start a new one."
            : "Could not start a kernel (" + (data.message || data.status) + "). Is `make live` still running? " +
              "Reload the page to try again.");
        }
        // A "shutdown" status also comes with a kernel restart: only the errors above mean it is gone.
      };
      thebe.on("error", react);
      prepared = true;
      prepareCells();
      var booting = thebe.bootstrap(options(server, key, path));   // the editors exist once this returns
      labelEditors();
      button.hidden = true;
      focusFirstCell();
      mark("cells");
      return withTimeout(booting, START_MS, "no kernel after " + START_MS / 1000 + " s")
        .then(function (result) {
          if (!result || !result.session) throw new Error("the server started no session");
          if (over) return null;
          live = true;
          mark("kernel");
          return runAll(box, result.notebook);
        });
    }).catch(function (error) {
      var why = String(error && error.message ? error.message : error).replace(/[.\s]*$/, "");
      say(box, "failed", "Could not run the example live (" + why + "). Is `make live` still running? " +
        (prepared ? "Reload the page to try again." : "Then press the button again."));
      if (!prepared) button.removeAttribute("aria-disabled");
    });
  }

  function setup() {
    takeKeyFromAddress();
    lendKey();
    var box = document.querySelector(".live-launch");
    if (!box) return;
    var button = box.querySelector(".live-button");
    box.hidden = false;
    button.addEventListener("click", function () { start(box, button); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
