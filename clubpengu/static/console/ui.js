// Small building blocks shared by the console's views.
import { h } from "../shared/dom.js";

/** A table: columns [{key, label, num?, format?}], rows of objects. */
export function table(columns, rows, { id, empty = "None" } = {}) {
  if (!rows.length) return h("p", { class: "note", id }, empty);
  return h("table", { id },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c) =>
      h("td", { class: c.num ? "num" : null, dataset: { key: c.key } }, c.format ? c.format(row[c.key], row) : show(row[c.key])))))));
}

/** A definition list of [label, value] pairs. */
export function facts(pairs, id) {
  return h("dl", { class: "facts", id }, pairs.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, show(value))]));
}

export function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)} UTC`;
}

export function message(element, text, kind = "note") {
  element.className = kind;
  element.textContent = text;
}
