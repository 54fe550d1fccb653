// Migrations: saves held for review (GET /admin/migrations?status=pending) and the others;
// admins approve (credited through the ledger) or reject each with a reason. Deciding twice
// the same way changes nothing (the server answers the first decision).
import { fill, h } from "../../shared/dom.js";
import { facts, message, pagedList, playerLink, show, when } from "../ui.js";

const STATUSES = ["pending", "approved", "rejected", "applied"];

export function migrations(container, context) {
  const { api } = context;
  const which = h("select", { id: "migrations-status", "aria-label": "Which claims" },
    STATUSES.map((s) => h("option", { value: s }, s)));
  const refresh = h("button", { type: "button", class: "secondary", id: "migrations-refresh" }, "Refresh");
  const status = h("p", { class: "note", id: "migrations-status-line", role: "status" });
  const list = pagedList({
    api, path: "/admin/migrations", key: "claims", id: "migrations-list", status,
    query: () => ({ status: which.value, limit: 20 }),
    render: (rows) => (rows.length
      ? h("div", { class: "claims" }, rows.map((c) => claimCard(c, context, status, () => list.load())))
      : h("p", { class: "note", id: "migrations-empty" }, `No ${which.value} claims`)),
  });
  fill(container, h("h2", {}, "Migrations", which, refresh),
    h("p", { class: "note" }, "Saves asking for more than the review thresholds wait here; nothing of them is credited until approved."),
    status, list.element);
  which.addEventListener("change", () => list.load());
  refresh.addEventListener("click", () => list.load());
  return { show: () => list.load(), hide() {} };
}

function claimCard(claim, { api, go, can }, status, done) {
  const a = claim.accepted ?? {};
  const card = h("article", { class: "card claim", id: `claim-${claim.id}`, dataset: { claimId: claim.id, status: claim.status } },
    h("h3", {}, `${claim.status} — ${when(claim.createdAt)}`),
    facts([
      ["player", playerLink(go, claim.walletAddress, a.username || null)],
      ["source", claim.source], ["coins asked", claim.coins], ["credited", claim.credited],
      ["held because", h("ul", { class: "held" }, (claim.held ?? []).map((reason) => h("li", {}, reason)))],
      ["items", show([...(a.unlockedCosmetics ?? []), ...(a.unlockedMounts ?? [])])],
      ["puffles", (a.puffles ?? []).length],
      ["dropped", (claim.dropped ?? []).map((d) => `${d.field}: ${d.reason}`)],
      ["decided", claim.decidedAt ? `${when(claim.decidedAt)} by ${claim.decidedBy} (${claim.decidedRole}): ${claim.reason}` : null],
    ]));
  if (claim.status === "pending" && can("decideMigrations")) card.append(decideForm(claim, api, status, done));
  return card;
}

function decideForm(claim, api, status, done) {
  const reason = h("input", { class: "claim-reason", required: true, minlength: 3, maxlength: 200, placeholder: "Why (required, kept in the audit)", "aria-label": "Reason" });
  const result = h("span", { class: "note claim-result", role: "status" });
  const decide = async (verdict) => {
    if (reason.value.trim().length < 3) {
      message(result, "Give a reason (at least 3 characters).", "error");
      reason.focus();
      return;
    }
    try {
      const answer = await api.post(`/admin/migrations/${encodeURIComponent(claim.id)}/${verdict}`, { reason: reason.value.trim() });
      message(status, `Claim ${answer.claim.status}${answer.claim.credited ? `: ${answer.claim.credited} coins credited` : ""}`, "success");
      await done();
    } catch (error) {
      message(result, error.message, "error");
    }
  };
  return h("form", { class: "row wrap decide", onsubmit: (e) => e.preventDefault() }, reason,
    h("button", { type: "button", class: "claim-approve", onclick: () => decide("approve") }, "Approve"),
    h("button", { type: "button", class: "claim-reject danger", onclick: () => decide("reject") }, "Reject"),
    result);
}
