// The form designer's browser side: what its cards, lists and palette are for the shared drag-and-sort
// (sortable.js), the preview that is never sent, and the suggested short name. htmx makes the requests;
// the server does every change. No inline script (CSP).
(function () {
  "use strict";

  function designer() { return document.getElementById("designer"); }

  window.Casework.designer({
    root: designer,
    revisionField: function (name) { return name === "revision"; },
    // Focus stays where the person is typing, except after picking a field (sel-...) or undoing.
    typing: "input, textarea, select",
    notTyping: ".dz-palette",
    focusAnyway: function (id) { return id.startsWith("sel-"); },
    selectText: true,
    card: ".dz-card",
    moveButtons: ":scope > .dz-actions",
    list: ".dz-list",
    // A card moves within its list; a palette item adds a field of its type.
    grab: function (target) {
      var tool = target.closest("[data-palette-type]");
      var card = target.closest(".dz-card");
      if (tool) {
        var type = tool.getAttribute("data-palette-type");
        return { kind: "tool", type: type, inGroups: tool.getAttribute("data-in-groups") === "1", element: tool,
                 text: type, effect: "copy" };
      }
      if (card) {
        var key = card.getAttribute("data-key");
        return { kind: "card", key: key, group: card.getAttribute("data-group") || "", element: card,
                 text: key, effect: "move" };
      }
      return null;
    },
    // Top-level fields and palette items go onto pages; a group's own fields stay in their group; the
    // palette may add into a group if the type fits a row.
    accepts: function (list, drag) {
      var group = list.getAttribute("data-group") || "";
      if (drag.kind === "card") { return group === (drag.group || ""); }
      return group === "" || drag.inGroups;
    },
    drop: function (drag, list, index) {
      var form = document.getElementById(drag.kind === "tool" ? "dz-add-form" : "dz-move-form");
      form.elements.page.value = list.getAttribute("data-page") || "";
      form.elements.group.value = list.getAttribute("data-group") || "";
      form.elements.index.value = String(index);
      if (drag.kind === "tool") { form.elements.type.value = drag.type; } else { form.elements.key.value = drag.key; }
      return form;
    },
  });

  // The preview is never sent anywhere.
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-preview]")) { event.preventDefault(); }
  }, true);

})();
