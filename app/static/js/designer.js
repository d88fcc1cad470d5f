// The form designer's browser side: drag and drop, keyboard moves, focus after each edit, and the draft
// revision sent with every edit. htmx makes the requests; the server does every change. No inline script (CSP).
(function () {
  "use strict";

  function designer() { return document.getElementById("designer"); }

  // Every edit carries the revision the page shows *now*: requests wait in a queue (hx-sync), so the
  // value the element had when it was clicked may already be out of date by the time it is sent.
  document.addEventListener("htmx:before:request", function (event) {
    var root = designer();
    var ctx = event.detail && event.detail.ctx;
    if (!root || !ctx || !ctx.sourceElement || !root.contains(ctx.sourceElement)) { return; }
    var body = ctx.request && ctx.request.body;
    if (body && typeof body.set === "function" && body.has && body.has("revision")) {
      body.set("revision", root.getAttribute("data-revision"));
    }
  });

  // After an edit, put keyboard focus where the server says it belongs (the new field's label, the moved
  // card, the Undo button), unless the person has meanwhile moved on to another input.
  document.addEventListener("htmx:after:swap", function () {
    var root = designer();
    if (!root) { return; }
    var id = root.getAttribute("data-focus");
    if (!id) { return; }
    root.removeAttribute("data-focus");
    var target = document.getElementById(id);
    if (!target) { return; }
    var active = document.activeElement;
    var typing = active && active !== document.body && active.matches("input, textarea, select") &&
      root.contains(active) && !active.closest(".dz-palette");
    if (typing && !id.startsWith("sel-") && id !== "undo-button") { return; }
    target.focus();
    if (target.select && target.type === "text") { target.select(); }
  });

  // Keyboard reordering: Alt+ArrowUp / Alt+ArrowDown on a field card presses its Up / Down button.
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) { return; }
    var card = event.target.closest && event.target.closest(".dz-card");
    if (!card || !designer() || !designer().contains(card)) { return; }
    var button = card.querySelector(":scope > .dz-actions [data-move='" + (event.key === "ArrowUp" ? "up" : "down") + "']");
    event.preventDefault();
    if (button && !button.disabled) { button.click(); }
  });

  // The preview is never sent anywhere.
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-preview]")) { event.preventDefault(); }
  }, true);

  // --- drag and drop ---------------------------------------------------------------------------
  var drag = null;  // {kind: "card" | "tool", key, group, type, inGroups, element}

  function clearMarks() {
    document.querySelectorAll(".dz-drop-before, .dz-drop-end, .is-dragging").forEach(function (el) {
      el.classList.remove("dz-drop-before", "dz-drop-end", "is-dragging");
    });
  }

  // May the thing being dragged go into this list? Top-level fields and palette items go onto pages; a
  // group's own fields stay in their group; the palette may add into a group if the type fits a row.
  function accepts(list) {
    if (!drag || !list) { return false; }
    var group = list.getAttribute("data-group") || "";
    if (drag.kind === "card") { return group === (drag.group || ""); }
    return group === "" || drag.inGroups;
  }

  function cardsOf(list) {
    return Array.prototype.filter.call(list.children, function (el) {
      return el.classList.contains("dz-card") && (!drag || el !== drag.element);
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

  function listAt(target) {
    var list = target.closest && target.closest(".dz-list");
    while (list && !accepts(list)) { list = list.parentElement && list.parentElement.closest(".dz-list"); }
    return list;
  }

  document.addEventListener("dragstart", function (event) {
    var root = designer();
    if (!root || !(event.target instanceof Element) || !root.contains(event.target)) { return; }
    var tool = event.target.closest("[data-palette-type]");
    var card = event.target.closest(".dz-card");
    if (tool) {
      drag = { kind: "tool", type: tool.getAttribute("data-palette-type"),
               inGroups: tool.getAttribute("data-in-groups") === "1", element: tool };
      event.dataTransfer.effectAllowed = "copy";
      event.dataTransfer.setData("text/plain", drag.type);
    } else if (card) {
      drag = { kind: "card", key: card.getAttribute("data-key"), group: card.getAttribute("data-group") || "",
               element: card };
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", drag.key);
      card.classList.add("is-dragging");
    }
  });

  document.addEventListener("dragover", function (event) {
    if (!drag || !(event.target instanceof Element)) { return; }
    var list = listAt(event.target);
    if (!list) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = drag.kind === "tool" ? "copy" : "move";
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
    var spot = dropIndex(list, event.clientY);
    var form = document.getElementById(drag.kind === "tool" ? "dz-add-form" : "dz-move-form");
    form.elements.page.value = list.getAttribute("data-page") || "";
    form.elements.group.value = list.getAttribute("data-group") || "";
    form.elements.index.value = String(spot.index);
    if (drag.kind === "tool") { form.elements.type.value = drag.type; } else { form.elements.key.value = drag.key; }
    drag = null;
    clearMarks();
    form.requestSubmit();
  });

  document.addEventListener("dragend", function () { drag = null; clearMarks(); });

  // New form: suggest the short name from the title until the admin types one.
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-slug-from")) { return; }
    var slug = form.elements.slug;
    if (event.target === slug) { slug.setAttribute("data-touched", "1"); return; }
    if (event.target.name !== form.getAttribute("data-slug-from") || slug.getAttribute("data-touched")) { return; }
    slug.value = event.target.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").replace(/^[^a-z]+/, "").slice(0, 63);
  });
})();
