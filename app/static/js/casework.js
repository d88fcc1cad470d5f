// Casework's own small behaviours; htmx does the requests. No inline script anywhere (CSP).
(function () {
  "use strict";
  // After htmx swaps in a fragment with errors, move keyboard focus to the first invalid input.
  document.addEventListener("htmx:after:swap", function (event) {
    var target = event.target instanceof Element ? event.target : document;
    // Editors that save as you type (the form designer) manage focus themselves.
    if (target.closest && target.closest("[data-keep-focus]")) { return; }
    var invalid = target.querySelector("[aria-invalid='true']");
    if (invalid) { invalid.focus(); }
  });
  // Plain forms that take a serious step ask first (htmx forms use hx-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form instanceof HTMLFormElement ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
