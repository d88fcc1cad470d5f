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
  // Answers with a format (a field's pattern) are checked as people type, with the syntax the server
  // accepts (forms/patterns.py): a RegExp with the u flag, anchored at both ends, on the trimmed value.
  function checkPattern(input) {
    var source = input.getAttribute("data-pattern");
    if (source === null || typeof input.setCustomValidity !== "function") { return; }
    var re;
    try { re = new RegExp("^(?:" + source + ")$", "u"); } catch (e) { return; }
    var value = input.value.trim();
    var message = input.getAttribute("data-pattern-message") || "Enter a value in the expected format.";
    input.setCustomValidity(value === "" || re.test(value) ? "" : message);
  }
  function checkPatterns(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-pattern]"), checkPattern);
  }
  document.addEventListener("input", function (event) {
    if (event.target instanceof Element && event.target.hasAttribute("data-pattern")) { checkPattern(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () { checkPatterns(document); });
  document.addEventListener("htmx:after:swap", function () { checkPatterns(document); });
  // Editors that answer every save with the whole region (data-keep-place, the case-type designer) keep
  // the person's place: the control they used (or the one the answer focuses) stays where it was on
  // screen, and what the save did is said beside it, not only in the status line at the top.
  var place = null;
  document.addEventListener("htmx:before:swap", function (event) {
    var region = event.target instanceof Element ? event.target.closest("[data-keep-place]") : null;
    var active = document.activeElement;
    place = region && active && region.contains(active) ?
      { region: region.id, id: active.id, top: active.getBoundingClientRect().top } : null;
  });
  document.addEventListener("htmx:after:settle", function () {
    if (!place) { return; }
    var region = document.getElementById(place.region);
    var kept = place;
    place = null;
    if (!region) { return; }
    var target = region.querySelector("[autofocus]") || (kept.id && document.getElementById(kept.id));
    if (!target) { return; }
    window.scrollBy(0, target.getBoundingClientRect().top - kept.top);
    target.focus({ preventScroll: true });
    var status = region.getAttribute("data-status") && document.getElementById(region.getAttribute("data-status"));
    var said = status ? status.textContent.trim() : "";
    if (said && !region.querySelector("[aria-invalid='true'], [role='alert']")) {
      var note = document.createElement("span");
      note.className = "saved-note";
      note.setAttribute("aria-hidden", "true");  // the status line already announces it
      note.textContent = said;
      target.insertAdjacentElement("afterend", note);
    }
  });
  // New form, case type or queue (data-slug-from="<the name input>"): suggest the short name from the name
  // until the admin types one.
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-slug-from") || !form.elements.slug) { return; }
    var slug = form.elements.slug;
    if (event.target === slug) { slug.setAttribute("data-touched", "1"); return; }
    if (event.target.name !== form.getAttribute("data-slug-from") || slug.getAttribute("data-touched")) { return; }
    slug.value = event.target.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").replace(/^[^a-z]+/, "").slice(0, 63);
  });
  // Plain forms that take a serious step ask first (htmx forms use hx-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form instanceof HTMLFormElement ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
