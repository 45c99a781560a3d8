// Progressive enhancement only: every page works without this file.
// 1. The topic form's backtest follows the query as it is typed.
// 2. A select marked data-autosubmit submits its form when changed.
(function () {
  "use strict";
  var query = document.querySelector("textarea[data-backtest]");
  var target = document.getElementById("backtest");
  if (query && target) {
    var timer = null;
    var latest = 0;
    query.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var asked = ++latest;
        var url = query.dataset.backtest + "?query=" + encodeURIComponent(query.value);
        fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) {
            // the server renders the fragment with autoescape; only the newest answer is shown
            if (html !== null && asked === latest) { target.innerHTML = html; }
          });
      }, 250);
    });
  }
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
