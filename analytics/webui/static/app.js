// Enhancements only: every page works without this script.
"use strict";
(function () {
  // Ask before submitting forms that change state.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
    }
  });

  // Keep relative times current while the page stays open.
  var units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  function relative(ms) {
    var s = Math.round((Date.now() - ms) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    if (s < 60) { return "just now"; }
    if (s >= 30 * 86400) { return null; }
    for (var i = 0; i < units.length; i++) {
      var n = Math.floor(s / units[i][1]);
      if (n >= 1) {
        var t = n + " " + units[i][0] + (n === 1 ? "" : "s");
        return future ? "in " + t : t + " ago";
      }
    }
    return null;
  }
  function refresh() {
    var els = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < els.length; i++) {
      var ms = Date.parse(els[i].getAttribute("datetime"));
      var t = isNaN(ms) ? null : relative(ms);
      if (t) { els[i].textContent = t; }
    }
  }
  window.setInterval(refresh, 60000);

  // Filters: submit when a select or date changes.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.form && el.form.classList.contains("filters") && (el.tagName === "SELECT" || el.type === "date" || el.type === "checkbox")) {
      el.form.requestSubmit();
    }
  });
})();
