// The document template designer: a case-value button inserts its {{key}} where the cursor was in the text
// the admin last edited (no inline script: CSP). Without JavaScript the keys are still listed to type.
(function () {
  "use strict";
  var last = null;
  document.addEventListener("focusin", function (event) {
    if (event.target instanceof Element && event.target.matches(".ph-target")) { last = event.target; }
  });
  document.addEventListener("click", function (event) {
    var chip = event.target instanceof Element ? event.target.closest("button[data-insert]") : null;
    if (!chip) { return; }
    var target = last && document.body.contains(last) ? last : document.querySelector(".ph-target");
    if (!target) { return; }
    var text = chip.getAttribute("data-insert");
    var start = target.selectionStart == null ? target.value.length : target.selectionStart;
    var end = target.selectionEnd == null ? start : target.selectionEnd;
    target.value = target.value.slice(0, start) + text + target.value.slice(end);
    target.focus();
    target.setSelectionRange(start + text.length, start + text.length);
  });
})();
