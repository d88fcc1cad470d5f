// What the designers' scripts share: the draft revision sent with every edit, keyboard focus after each
// swap, Alt+Arrow moves and drag-and-drop sorting of cards in lists. Each designer's script describes its
// page (where the root is, what a card and a list are, what a drop sends); the server does every change.
// No inline script (CSP).
(function () {
  "use strict";

  var Casework = window.Casework = window.Casework || {};

  function contains(root, element) { return Boolean(root && element && root.contains(element)); }

  // Edits wait in a queue (hx-sync): each carries the revision the page shows *now*, not the one its form
  // held when it was clicked (an earlier edit in the queue may have saved a newer one since).
  function trackRevision(options) {
    document.addEventListener("htmx:before:request", function (event) {
      var root = options.root();
      var ctx = event.detail && event.detail.ctx;
      if (!root || !ctx || !contains(options.scope(), ctx.sourceElement)) { return; }
      var body = ctx.request && ctx.request.body;
      if (!body || typeof body.set !== "function" || typeof body.keys !== "function") { return; }
      Array.from(body.keys()).forEach(function (name) {
        if (options.revisionField(name)) { body.set(name, root.getAttribute("data-revision")); }
      });
    });
  }

  // After an edit, keyboard focus goes where the server says (data-focus: the moved card, a new editor,
  // the Undo button), unless the person has meanwhile moved on to typing elsewhere.
  function focusAfterSwap(options) {
    document.addEventListener("htmx:after:swap", function () {
      var root = options.root();
      if (!root) { return; }
      var id = root.getAttribute("data-focus");
      if (!id) { return; }
      root.removeAttribute("data-focus");
      var target = document.getElementById(id);
      if (!target) { return; }
      var active = document.activeElement;
      var typing = active && active !== document.body && active.matches(options.typing) &&
        root.contains(active) && !(options.notTyping && active.closest(options.notTyping));
      if (typing && id !== "undo-button" && !options.focusAnyway(id)) { return; }
      target.focus();
      if (options.selectText && target.select && target.type === "text") { target.select(); }
    });
  }

  // Keyboard reordering: Alt+ArrowUp / Alt+ArrowDown on a card presses its Up / Down button.
  function keyboardMoves(options) {
    document.addEventListener("keydown", function (event) {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) { return; }
      var card = event.target.closest && event.target.closest(options.card);
      if (!card || !contains(options.root(), card)) { return; }
      var direction = event.key === "ArrowUp" ? "up" : "down";
      var button = card.querySelector(options.moveButtons + " [data-move='" + direction + "']");
      event.preventDefault();
      if (button && !button.disabled) { button.click(); }
    });
  }

  // Drag and drop: options.grab(element) says what a drag started on is ({element, text, effect}, or null),
  // options.accepts(list, drag) whether it may go into a list, options.drop(drag, list, index) fills the
  // form to send and returns it.
  function dragAndDrop(options) {
    var drag = null;

    function clearMarks() {
      document.querySelectorAll(".dz-drop-before, .dz-drop-end, .is-dragging").forEach(function (el) {
        el.classList.remove("dz-drop-before", "dz-drop-end", "is-dragging");
      });
    }

    function cardsOf(list) {
      return Array.prototype.filter.call(list.children, function (el) {
        return el.matches(options.card) && (!drag || el !== drag.element);
      });
    }

    // The position among the list's cards (the dragged one left out) where the pointer is.
    function dropIndex(list, y) {
      var cards = cardsOf(list);
      for (var i = 0; i < cards.length; i++) {
        var box = cards[i].getBoundingClientRect();
        if (y < box.top + box.height / 2) { return { index: i, before: cards[i] }; }
      }
      return { index: cards.length, before: null };
    }

    // The innermost list under the pointer that takes what is being dragged.
    function listAt(target) {
      var list = target.closest && target.closest(options.list);
      while (list && !(drag && options.accepts(list, drag))) {
        list = list.parentElement && list.parentElement.closest(options.list);
      }
      return list;
    }

    document.addEventListener("dragstart", function (event) {
      if (!(event.target instanceof Element) || !contains(options.root(), event.target)) { return; }
      drag = options.grab(event.target);
      if (!drag) { return; }
      event.dataTransfer.effectAllowed = drag.effect;
      event.dataTransfer.setData("text/plain", drag.text);
      if (drag.effect === "move") { drag.element.classList.add("is-dragging"); }
    });

    document.addEventListener("dragover", function (event) {
      if (!drag || !(event.target instanceof Element)) { return; }
      var list = listAt(event.target);
      if (!list) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = drag.effect;
      document.querySelectorAll(".dz-drop-before, .dz-drop-end").forEach(function (el) {
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
      var form = options.drop(drag, list, dropIndex(list, event.clientY).index);
      drag = null;
      clearMarks();
      form.requestSubmit();
    });

    document.addEventListener("dragend", function () { drag = null; clearMarks(); });
  }

  // Wires one designer page. options: root() (the element with data-revision and data-focus, found anew
  // because htmx swaps it), scope() (edits from inside it carry the revision; default root()),
  // revisionField(name), typing (selector of inputs whose focus an edit does not steal), notTyping,
  // focusAnyway(id), selectText, card, list, moveButtons (where a card's Up/Down buttons sit), grab,
  // accepts, drop.
  Casework.designer = function (options) {
    var settings = Object.assign({ scope: options.root, moveButtons: ":scope", selectText: false,
                                   notTyping: null, focusAnyway: function () { return false; } }, options);
    trackRevision(settings);
    focusAfterSwap(settings);
    keyboardMoves(settings);
    dragAndDrop(settings);
  };
})();
