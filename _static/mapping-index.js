// Filters for the mapping index: namespace, status and free text. Works offline, no libraries.
(function () {
  "use strict";
  function setup() {
    var namespace = document.getElementById("filter-namespace");
    var status = document.getElementById("filter-status");
    var text = document.getElementById("filter-text");
    var count = document.getElementById("filter-count");
    if (!namespace || !status || !text) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("tr.mapping-row"));
    var groups = Array.prototype.slice.call(document.querySelectorAll("table.mapping-index tbody"));
    function apply() {
      var ns = namespace.value, st = status.value, words = text.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var haystack = row.textContent.toLowerCase();
        var ok = (!ns || row.dataset.namespace === ns) &&
                 (!st || row.dataset.status.split(" ").indexOf(st) !== -1) &&
                 words.every(function (w) { return haystack.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      groups.forEach(function (group) {
        group.hidden = !group.querySelector("tr.mapping-row:not([hidden])");
      });
      count.textContent = shown + " of " + rows.length + " mappings shown";
    }
    [namespace, status].forEach(function (el) { el.addEventListener("change", apply); });
    text.addEventListener("input", apply);
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
