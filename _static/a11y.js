// Keyboard access to blocks that scroll (code, outputs, wide tables): axe's scrollable-region-focusable.
// Only blocks that actually scroll become tab stops, re-checked when their size changes (window
// width, a tab switched into view). Each gets role="group" and a name saying what it holds.
(function () {
  "use strict";
  var CANDIDATES = "pre, div.table-wrapper, div.highlight, div.cell_output, div.output";
  var MARK = "data-scroll-focus";

  function scrolls(el) {
    var style = window.getComputedStyle(el);
    var x = /(auto|scroll)/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    var y = /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
    return x || y;
  }

  function nameFor(el) {
    var table = el.matches("table") ? el : el.querySelector("table");
    if (table) {
      var caption = table.querySelector("caption .caption-text") || table.querySelector("caption");
      var text = caption ? caption.textContent.replace(/\s+/g, " ").trim() : "";
      return text ? "Table: " + text.replace(/^Table \d+:?\s*/, "") : "Table";
    }
    if (el.closest(".example-output, .cell_output, .output")) return "Output";
    return "Code";
  }

  function update(el) {
    var added = el.getAttribute(MARK);   // the attributes this script set, space-separated
    if (scrolls(el)) {
      if (added !== null || el.hasAttribute("tabindex")) return;
      var set = ["tabindex"];
      el.setAttribute("tabindex", "0");
      if (!el.hasAttribute("role")) { el.setAttribute("role", "group"); set.push("role"); }
      if (!el.hasAttribute("aria-label") && !el.hasAttribute("aria-labelledby")) {
        el.setAttribute("aria-label", nameFor(el) + " (scrollable)");
        set.push("aria-label");
      }
      el.setAttribute(MARK, set.join(" "));
    } else if (added !== null) {
      added.split(" ").concat([MARK]).forEach(function (name) { el.removeAttribute(name); });
    }
  }

  // furo's two <aside> landmarks have no names (axe: landmark-unique, moderate).
  var ASIDES = { ".sidebar-drawer": "Site navigation", ".toc-drawer": "On this page" };

  function setup() {
    Object.keys(ASIDES).forEach(function (selector) {
      var aside = document.querySelector("aside" + selector);
      if (aside && !aside.hasAttribute("aria-label")) aside.setAttribute("aria-label", ASIDES[selector]);
    });
    var root = document.querySelector("article") || document.body;
    var blocks = Array.prototype.slice.call(root.querySelectorAll(CANDIDATES));
    blocks.forEach(update);
    if ("ResizeObserver" in window) {
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) { update(entry.target); });
      });
      blocks.forEach(function (el) { observer.observe(el); });
    } else {
      window.addEventListener("resize", function () { blocks.forEach(update); });
      document.addEventListener("change", function () { blocks.forEach(update); });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
