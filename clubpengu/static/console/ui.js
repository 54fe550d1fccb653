// Small building blocks shared by the console's views.
import { fill, h } from "../shared/dom.js";

/** A table: columns [{key, label, num?, format?}], rows of objects. Wide tables scroll
 * inside their own box, so the page itself never scrolls sideways on a phone. */
export function table(columns, rows, { id, empty = "None", rowData } = {}) {
  if (!rows.length) return h("p", { class: "note", id }, empty);
  return h("div", { class: "scroll" }, h("table", { id },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", { dataset: rowData ? rowData(row) : null }, columns.map((c) =>
      h("td", { class: c.num ? "num" : null, dataset: { key: c.key } }, c.format ? c.format(row[c.key], row) : show(row[c.key]))))))));
}

/** A definition list of [label, value] pairs. */
export function facts(pairs, id) {
  return h("dl", { class: "facts", id }, pairs.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value instanceof Node ? value : show(value))]));
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

/** Show `text` in `element` as a note, an error or a success (its other classes stay). */
export function message(element, text, kind = "note") {
  element.classList.remove("note", "error", "success", "warning");
  element.classList.add(kind);
  element.textContent = text;
}

/** A link to a player's page in this console (a real link: it can be focused, opened with
 * Enter, and read by a screen reader). */
export function playerLink(go, wallet, name) {
  if (!wallet) return name ?? "—";
  return h("a", {
    href: `#player/${wallet}`, class: "player-link", dataset: { wallet },
    onclick: (event) => {
      event.preventDefault();
      go("players", wallet);
    },
  }, name || shortened(wallet));
}

function shortened(wallet) {
  return wallet.length > 12 ? `${wallet.slice(0, 4)}…${wallet.slice(-4)}` : wallet;
}

/** A labelled field: the label wraps the control, so clicking or tabbing reaches it. */
export function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

/** How long a ban or mute lasts; "" is until lifted (null on the wire). */
export const DURATIONS = [["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["", "until lifted"]];

export function durationSelect(attrs = {}, selected = "24h") {
  return h("select", attrs, DURATIONS.map(([value, label]) => h("option", { value, selected: value === selected }, label)));
}

export function durationValue(select) {
  return select.value === "" ? null : select.value;
}

/** A list read a page at a time from a route answering {<key>: [...], next}: `load()`
 * starts again, the "Older" button asks for the page after the last. */
export function pagedList({ api, path, key, query, render, id, status }) {
  const holder = h("div", { id });
  let rows = [];
  let next = null;
  let asked = 0; // only the newest request draws: a slow older answer never replaces it
  async function page(before) {
    const mine = ++asked;
    const data = await api.get(path, { ...query(), before });
    if (mine !== asked) return;
    rows = before ? rows.concat(data[key]) : data[key];
    next = data.next;
    const older = next
      ? h("button", { type: "button", class: "secondary older", onclick: () => page(next).catch((e) => message(status, e.message, "error")) }, "Older")
      : null;
    fill(holder, render(rows), older);
  }
  return {
    element: holder,
    async load() {
      try {
        await page(null);
      } catch (error) {
        message(status, error.message, "error");
      }
    },
  };
}
