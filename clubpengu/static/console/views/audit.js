// Audit: every staff action, newest first (GET /admin/audit), filtered by who acted, on
// whom and what; each filter is exact, as the server's.
import { fill, h } from "../../shared/dom.js";
import { field, pagedList, playerLink, show, table, when } from "../ui.js";

const ACTIONS = ["coins.adjust", "sessions.revoke", "ban", "unban", "mute", "unmute", "report.resolve",
  "promo.create", "promo.update", "migration", "migration.approve", "migration.reject"];

export function audit(container, { api, go }) {
  const actor = h("input", { id: "audit-actor", placeholder: "wallet", maxlength: 64 });
  const target = h("input", { id: "audit-target", placeholder: "wallet, promo:CODE, report:id", maxlength: 80 });
  const action = h("select", { id: "audit-action" }, h("option", { value: "" }, "any"), ACTIONS.map((a) => h("option", { value: a }, a)));
  const status = h("p", { class: "note", id: "audit-status", role: "status" });
  const form = h("form", { id: "audit-form", class: "row wrap filters" },
    field("Actor", actor), field("Target", target), field("Action", action), h("button", { type: "submit" }, "Filter"));
  const wallet = (text) => (/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(text ?? "") ? playerLink(go, text) : show(text));
  const list = pagedList({
    api, path: "/admin/audit", key: "entries", id: "audit-list", status,
    query: () => ({ actor: actor.value.trim(), target: target.value.trim(), action: action.value, limit: 50 }),
    render: (rows) => table([
      { key: "at", label: "when", format: when }, { key: "actor", label: "actor", format: wallet },
      { key: "role", label: "role" }, { key: "action", label: "action" },
      { key: "target", label: "target", format: wallet }, { key: "reason", label: "reason" },
      { key: "before", label: "before" }, { key: "after", label: "after" }, { key: "source", label: "source" },
    ], rows, { id: "audit-table", empty: "No staff action matches" }),
  });
  fill(container, h("h2", {}, "Audit trail"), form, status, list.element);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    list.load();
  });
  return { show: () => list.load(), hide() {} };
}
