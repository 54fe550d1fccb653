// Reports: the players' report queue (GET /admin/reports), newest first, each with the chat
// of its room when it was made; moderators and admins close one with a reason in one click:
// dismiss, mute or ban the reported player (POST /admin/reports/{id}/resolve).
import { fill, h } from "../../shared/dom.js";
import { durationSelect, durationValue, facts, message, pagedList, playerLink, table, when } from "../ui.js";

export function reports(container, context) {
  const { api } = context;
  const which = h("select", { id: "reports-status", "aria-label": "Which reports" },
    h("option", { value: "open" }, "open"), h("option", { value: "resolved" }, "resolved"));
  const refresh = h("button", { type: "button", class: "secondary", id: "reports-refresh" }, "Refresh");
  const status = h("p", { class: "note", id: "reports-status-line", role: "status" });
  const list = pagedList({
    api, path: "/admin/reports", key: "reports", id: "reports-list", status,
    query: () => ({ status: which.value, limit: 20 }),
    render: (rows) => (rows.length
      ? h("div", { class: "reports" }, rows.map((r) => reportCard(r, context, status, () => list.load())))
      : h("p", { class: "note", id: "reports-empty" }, which.value === "open" ? "No open reports" : "No resolved reports")),
  });
  fill(container, h("h2", {}, "Reports", which, refresh), status, list.element);
  which.addEventListener("change", () => list.load());
  refresh.addEventListener("click", () => list.load());
  return { show: () => list.load(), hide() {} };
}

function reportCard(report, { api, go, can }, status, done) {
  const reported = report.reported;
  const context = table([
    { key: "at", label: "when", format: when },
    { key: "username", label: "who", format: (name, line) => playerLink(go, line.walletAddress, name) },
    { key: "sent", label: "sent" },
    { key: "shown", label: "shown" },
  ], report.context, {
    id: `report-context-${report.id}`, empty: "No chat in the room before the report",
    rowData: (line) => ({ reported: line.walletAddress && line.walletAddress === reported.walletAddress ? "true" : null }),
  });
  const card = h("article", { class: "card report", id: `report-${report.id}`, dataset: { reportId: report.id } },
    h("h3", {}, `${report.category} report — ${when(report.createdAt)}`),
    facts([
      ["reported", playerLink(go, reported.walletAddress, reported.username)],
      ["by", playerLink(go, report.reporter.walletAddress, report.reporter.username)],
      ["room", report.room], ["says", report.text],
    ]),
    h("h4", {}, "Chat before the report (the reported player's lines are marked)"),
    context);
  if (report.resolution) {
    const r = report.resolution;
    card.append(h("p", { class: "resolution" }, `Resolved: ${r.action}${r.until ? ` until ${when(r.until)}` : ""} — ${r.reason} (by ${r.by}, ${r.role}, ${when(r.at)})`));
  } else if (can("moderate")) {
    card.append(resolveForm(report, api, status, done));
  }
  return card;
}

/** One reason, one duration, three buttons: each button is the whole decision. */
function resolveForm(report, api, status, done) {
  const reason = h("input", { class: "report-reason", required: true, minlength: 3, maxlength: 200, placeholder: "Why (kept in the audit)", "aria-label": "Reason" });
  const duration = durationSelect({ class: "report-duration", "aria-label": "Duration of a mute or ban" });
  const result = h("span", { class: "note report-result", role: "status" });
  const guest = !report.reported.walletAddress; // a guest can only be dismissed
  const resolve = async (action) => {
    if (reason.value.trim().length < 3) {
      message(result, "Give a reason (at least 3 characters).", "error");
      reason.focus();
      return;
    }
    const body = { action, reason: reason.value.trim() };
    if (action !== "dismiss") body.duration = durationValue(duration);
    try {
      await api.post(`/admin/reports/${encodeURIComponent(report.id)}/resolve`, body);
      message(status, `Report ${action === "dismiss" ? "dismissed" : `resolved: ${action}`} (${report.reported.username})`, "success");
      await done();
    } catch (error) {
      message(result, error.message, "error");
    }
  };
  const button = (action, label, cls) => h("button", { type: "button", class: `report-${action} ${cls}`, disabled: guest && action !== "dismiss", onclick: () => resolve(action) }, label);
  return h("form", { class: "row wrap resolve", onsubmit: (e) => e.preventDefault() },
    reason, duration,
    button("dismiss", "Dismiss", "secondary"), button("mute", "Mute", ""), button("ban", "Ban", "danger"),
    result);
}
