// The rule designer's browser side: what its rule cards and trigger lists are for the shared drag-and-sort
// (sortable.js). htmx makes the requests; the server does every change. No inline script (CSP).
(function () {
  "use strict";

  window.Casework.designer({
    root: function () { return document.getElementById("rl-workspace"); },
    // The test and back-test forms beside the workspace send the revision too.
    scope: function () { return document.getElementById("rl-page"); },
    revisionField: function (name) { return name === "expected_revision" || /-expected_revision$/.test(name); },
    typing: "input[type=text], textarea",
    card: ".rl-card",
    list: ".rl-cards",
    // A rule moves only within its trigger's list.
    grab: function (target) {
      var card = target.closest(".rl-card[data-rule]");
      if (!card) { return null; }
      var id = card.getAttribute("data-rule");
      return { id: id, trigger: card.closest(".rl-cards").getAttribute("data-trigger"), element: card,
               text: id, effect: "move" };
    },
    accepts: function (list, drag) { return list.getAttribute("data-trigger") === drag.trigger; },
    drop: function (drag, list, index) {
      var form = document.getElementById("rl-move-form");
      form.elements.rule.value = drag.id;
      form.elements.position.value = String(index);
      return form;
    },
  });
})();
