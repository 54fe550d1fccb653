// Promo codes: the list for everyone; for admins the create form and a switch per code
// (PATCH /admin/promos/{code}: a leaked code is switched off at once, audited).
import { fill, h } from "../../shared/dom.js";
import { message, table, when } from "../ui.js";

const COLUMNS = [
  { key: "code", label: "code" },
  { key: "coins", label: "coins", num: true },
  { key: "items", label: "items" },
  { key: "redeemedCount", label: "redeemed", num: true },
  { key: "maxRedemptions", label: "max", num: true },
  { key: "expiresAt", label: "expires", format: when },
  { key: "active", label: "active", format: (v) => (v ? "yes" : "no") },
  { key: "createdBy", label: "created by" },
];

export function promos(container, { api, can }) {
  const status = h("p", { class: "note", id: "promos-status", role: "status" });
  const list = h("div", { id: "promos-list" });
  const form = can("promos") ? createForm(api, status, () => refresh()) : null;
  fill(container, h("h2", {}, "Promo codes"), form, status, list);
  const columns = can("promos") ? [...COLUMNS, { key: "switch", label: "", format: (_, promo) => toggle(promo) }] : COLUMNS;

  function toggle(promo) {
    const on = !promo.active;
    return h("button", {
      type: "button", class: on ? "secondary promo-toggle" : "danger promo-toggle", dataset: { code: promo.code },
      onclick: async () => {
        try {
          await api.patch(`/admin/promos/${encodeURIComponent(promo.code)}`, { active: on, reason: on ? "switched on in the console" : "switched off in the console" });
          message(status, `${promo.code} is ${on ? "on" : "off"}`, "success");
          refresh();
        } catch (error) {
          message(status, error.message, "error");
        }
      },
    }, on ? "Switch on" : "Switch off");
  }

  async function refresh() {
    try {
      const data = await api.get("/admin/promos");
      fill(list, table(columns, data.promos, { id: "promos-table", empty: "No promo codes yet", rowData: (p) => ({ code: p.code }) }));
    } catch (error) {
      message(status, error.message, "error");
    }
  }

  return { show: refresh, hide() {} };
}

function createForm(api, status, done) {
  const code = h("input", { id: "promo-code", required: true, pattern: "[A-Za-z0-9_\\-]{3,32}", placeholder: "WELCOME" });
  const coins = h("input", { id: "promo-coins", type: "number", min: 0, step: 1, value: 0 });
  const items = h("input", { id: "promo-items", placeholder: "item ids, comma separated" });
  const max = h("input", { id: "promo-max", type: "number", min: 1, step: 1, required: true, value: 100 });
  const expires = h("input", { id: "promo-expires", type: "datetime-local" });
  const form = h("form", { id: "promo-form", class: "row wrap" },
    h("label", {}, "Code ", code), h("label", {}, "Coins ", coins), h("label", {}, "Items ", items),
    h("label", {}, "Max redemptions ", max), h("label", {}, "Expires (UTC) ", expires),
    h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      code: code.value.trim(), coins: Number(coins.value || 0), maxRedemptions: Number(max.value),
      items: items.value.split(",").map((s) => s.trim()).filter(Boolean),
      expiresAt: expires.value ? `${expires.value}:00Z` : null,
    };
    try {
      const created = await api.post("/admin/promos", body);
      message(status, `Created ${created.promo.code}`, "success");
      form.reset();
      done();
    } catch (error) {
      message(status, error.message, "error");
    }
  });
  return form;
}
