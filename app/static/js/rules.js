// The rule designer's browser side: drag and drop, keyboard moves, focus after each edit, and the draft
// revision sent with every edit. htmx makes the requests; the server does every change. No inline script (CSP).
(function () {
  "use strict";

  function workspace() { return document.getElementById("rl-workspace"); }
  function page() { return document.getElementById("rl-page"); }

  // Edits wait in a queue (hx-sync): each carries the revision the page shows *now*, not the one its
  // form held when it was clicked (an earlier edit in the queue may have saved a newer one since).
  document.addEventListener("htmx:before:request", function (event) {
    var root = workspace();
    var ctx = event.detail && event.detail.ctx;
    if (!root || !page() || !ctx || !ctx.sourceElement || !page().contains(ctx.sourceElement)) { return; }
    var body = ctx.request && ctx.request.body;
    if (!body || typeof body.set !== "function" || typeof body.keys !== "function") { return; }
    Array.from(body.keys()).forEach(function (name) {
      if (name === "expected_revision" || /-expected_revision$/.test(name)) {
        body.set(name, root.getAttribute("data-revision"));
      }
    });
  });

  // After an edit, keyboard focus goes where the server says (the moved rule, the new rule's editor,
  // the Undo button), unless the person has meanwhile moved on to typing elsewhere.
  document.addEventListener("htmx:after:swap", function () {
    var root = workspace();
    if (!root) { return; }
    var id = root.getAttribute("data-focus");
    if (!id) { return; }
    root.removeAttribute("data-focus");
    var target = document.getElementById(id);
    if (!target) { return; }
    var active = document.activeElement;
    var typing = active && active !== document.body && active.matches("input[type=text], textarea") && root.contains(active);
    if (typing && id !== "undo-button") { return; }
    target.focus();
  });

  // Keyboard reordering: Alt+ArrowUp / Alt+ArrowDown on a rule card presses its Up / Down button.
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) { return; }
    var card = event.target.closest && event.target.closest(".rl-card");
    if (!card || !workspace() || !workspace().contains(card)) { return; }
    var button = card.querySelector("[data-move='" + (event.key === "ArrowUp" ? "up" : "down") + "']");
    event.preventDefault();
    if (button && !button.disabled) { button.click(); }
  });

  // --- drag and drop within one trigger's list --------------------------------------------------
  var drag = null;  // {id, trigger, element}

  function clearMarks() {
    document.querySelectorAll(".rl-cards .dz-drop-before, .rl-cards.dz-drop-end, .rl-card.is-dragging")
      .forEach(function (el) { el.classList.remove("dz-drop-before", "dz-drop-end", "is-dragging"); });
  }

  function cardsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.classList.contains("rl-card") && (!drag || el !== drag.element);
    });
  }

  function dropIndex(list, y) {
    var cards = cardsOf(list);
    for (var i = 0; i < cards.length; i++) {
      var box = cards[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) { return { index: i, before: cards[i] }; }
    }
    return { index: cards.length, before: null };
  }

  function listAt(target) {
    var list = target.closest && target.closest(".rl-cards");
    return list && drag && list.getAttribute("data-trigger") === drag.trigger ? list : null;
  }

  document.addEventListener("dragstart", function (event) {
    var root = workspace();
    if (!root || !(event.target instanceof Element) || !root.contains(event.target)) { return; }
    var card = event.target.closest(".rl-card[data-rule]");
    if (!card) { return; }
    var list = card.closest(".rl-cards");
    drag = { id: card.getAttribute("data-rule"), trigger: list.getAttribute("data-trigger"), element: card };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", drag.id);
    card.classList.add("is-dragging");
  });

  document.addEventListener("dragover", function (event) {
    if (!drag || !(event.target instanceof Element)) { return; }
    var list = listAt(event.target);
    if (!list) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".rl-cards .dz-drop-before, .rl-cards.dz-drop-end").forEach(function (el) {
      el.classList.remove("dz-drop-before", "dz-drop-end");
    });
    var spot = dropIndex(list, event.clientY);
    if (spot.before) { spot.before.classList.add("dz-drop-before"); } else { list.classList.add("dz-drop-end"); }
  });

  document.addEventListener("drop", function (event) {
    if (!drag || !(event.target instanceof Element)) { return; }
    var list = listAt(event.target);
    if (!list) { return; }
    event.preventDefault();
    var spot = dropIndex(list, event.clientY);
    var form = document.getElementById("rl-move-form");
    form.elements.rule.value = drag.id;
    form.elements.position.value = String(spot.index);
    drag = null;
    clearMarks();
    form.requestSubmit();
  });

  document.addEventListener("dragend", function () { drag = null; clearMarks(); });
})();
