// Shows and hides conditional fields while a requester types. The server decides for real (hidden
// fields are neither validated nor stored); this only mirrors forms/conditions.py so the page follows.
(function () {
  "use strict";

  function isEmpty(v) {
    return v === undefined || v === null || (typeof v === "string" && v.trim() === "") ||
      (Array.isArray(v) && v.length === 0);
  }

  // A group's answer is its rows (inputs named key-<row>-<field>); a row where nothing was entered does
  // not count, as the server ignores it (forms/validation.py).
  function rows(container, key) {
    var filled = {};
    Array.prototype.forEach.call(container.querySelectorAll("[name^='" + key + "-']"), function (input) {
      var row = new RegExp("^" + key + "-(\\d+)-").exec(input.name);
      var answered = input.type === "checkbox" || input.type === "radio" ? input.checked : !isEmpty(input.value);
      if (row && answered) { filled[row[1]] = true; }
    });
    return Object.keys(filled);
  }

  function read(container, key, family) {
    if (family === "group") { return rows(container, key); }
    var inputs = container.querySelectorAll("[name='" + key + "']");
    if (!inputs.length) { return undefined; }
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = container.querySelector("[name='" + key + "']:checked");
      return checked ? checked.value : undefined;
    }
    if (first.type === "checkbox" || family === "multi") {
      return Array.prototype.filter.call(inputs, function (i) { return i.checked; })
        .map(function (i) { return i.value; });
    }
    if (first.type === "file") { return first.files && first.files.length ? ["file"] : []; }
    return first.value;
  }

  function asBool(v) { return ["true", "yes", "on", "1"].indexOf(String(v).toLowerCase()) >= 0; }

  function norm(family, v) {
    // Upper then lower case folds like Python's casefold where lower case alone does not (ß, ς).
    if (family === "text") { return String(v).trim().toUpperCase().toLowerCase(); }
    if (family === "number") { return parseFloat(String(v).replace(/,/g, "")); }
    if (family === "datetime") { return Date.parse(v); }
    return v;
  }

  function clause(c, container, families) {
    var family = families[c.field] || "text";
    var raw = read(container, c.field, family);
    var op = c.op;
    var negations = { neq: "eq", not_in: "in", not_contains: "contains" };
    if (negations[op]) { return !clause({ field: c.field, op: negations[op], value: c.value }, container, families); }
    if (op === "empty") { return isEmpty(raw); }
    if (op === "not_empty") { return !isEmpty(raw); }
    if (isEmpty(raw)) { return false; }
    if (op === "is_true") { return asBool(raw); }
    if (op === "is_false") { return !asBool(raw); }
    if (family === "multi") { return op === "contains" && raw.indexOf(c.value) >= 0; }
    var v = norm(family, raw);
    var target = Array.isArray(c.value) ? c.value.map(function (x) { return norm(family, x); }) : norm(family, c.value);
    switch (op) {
      case "eq": return v === target;
      case "in": return target.indexOf(v) >= 0;
      case "contains": return String(v).indexOf(String(target)) >= 0;
      case "gt": case "after": return v > target;
      case "gte": return v >= target;
      case "lt": case "before": return v < target;
      case "lte": return v <= target;
      case "between": return v >= target[0] && v <= target[1];
      default: return true;
    }
  }

  function holds(cond, container, families) {
    if (cond.all) { return cond.all.every(function (c) { return holds(c, container, families); }); }
    if (cond.any) { return cond.any.some(function (c) { return holds(c, container, families); }); }
    if (cond.not) { return !holds(cond.not, container, families); }
    return clause(cond, container, families);
  }

  function refresh(container) {
    var families = JSON.parse(container.getAttribute("data-families") || "{}");
    var form = container.closest("form") || container;
    container.querySelectorAll("[data-visible-if]").forEach(function (wrap) {
      var show;
      try { show = holds(JSON.parse(wrap.getAttribute("data-visible-if")), form, families); }
      catch (e) { show = true; }
      wrap.hidden = !show;
    });
    // A conditionally required field shows its asterisk as soon as its condition holds.
    container.querySelectorAll("[data-required-if]").forEach(function (mark) {
      var applies;
      try { applies = holds(JSON.parse(mark.getAttribute("data-required-if")), form, families); }
      catch (e) { applies = false; }
      mark.hidden = !applies;
    });
  }

  function refreshAll() { document.querySelectorAll(".form-fields").forEach(refresh); }
  document.addEventListener("input", function (e) {
    var c = e.target.closest && e.target.closest("form");
    if (c) { c.querySelectorAll(".form-fields").forEach(refresh); }
  });
  document.addEventListener("change", function (e) {
    var c = e.target.closest && e.target.closest("form");
    if (c) { c.querySelectorAll(".form-fields").forEach(refresh); }
  });
  document.addEventListener("htmx:after:swap", refreshAll);
  document.addEventListener("DOMContentLoaded", refreshAll);
})();
