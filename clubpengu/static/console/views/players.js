// Player lookup: profile, presence, inventory, puffles, sessions, connections, and the
// ledger, newest first, a page at a time.
import { fill, h } from "../../shared/dom.js";
import { facts, message, show, table, when } from "../ui.js";

const LEDGER_PAGE = 20;

export const LEDGER_COLUMNS = [
  { key: "createdAt", label: "when", format: when },
  { key: "type", label: "type" },
  { key: "amount", label: "amount", num: true },
  { key: "balanceAfter", label: "balance after", num: true },
  { key: "reason", label: "reason" },
  { key: "actor", label: "actor" },
];

export function players(container, { api, role, go }) {
  const input = h("input", { id: "lookup-wallet", placeholder: "Wallet address", size: 46, required: true, "aria-label": "Wallet address" });
  const form = h("form", { id: "lookup-form", class: "row" }, input, h("button", { type: "submit" }, "Look up"));
  const status = h("p", { class: "note", id: "lookup-status" });
  const body = h("div", { id: "lookup-body" });
  fill(container, h("h2", {}, "Player lookup"), form, status, body);
  let ledger = { wallet: null, rows: [], next: null };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp(input.value.trim());
  });

  async function lookUp(wallet) {
    if (!wallet) return;
    input.value = wallet;
    message(status, "Looking up…");
    try {
      const record = await api.get(`/admin/users/${encodeURIComponent(wallet)}`);
      ledger = { wallet, rows: [], next: null };
      render(record);
      await morePages();
      message(status, "");
    } catch (error) {
      fill(body);
      message(status, error.status === 404 ? "No player with that wallet" : error.message, "error");
    }
  }

  async function morePages() {
    const page = await api.get("/admin/transactions", { wallet: ledger.wallet, limit: LEDGER_PAGE, before: ledger.next });
    ledger.rows.push(...page.transactions);
    ledger.next = page.next;
    renderLedger();
  }

  function render(record) {
    const u = record.user;
    const adjust = role === "admin"
      ? h("button", { type: "button", class: "secondary", id: "lookup-adjust", onclick: () => go("coins", u.walletAddress) }, "Adjust coins…")
      : null;
    fill(body,
      h("div", { class: "grid" },
        h("section", { class: "card" }, h("h3", {}, "Profile"), facts([
          ["wallet", u.walletAddress], ["username", u.username], ["coins", u.coins],
          ["look", Object.entries(u.customization).map(([k, v]) => `${k}: ${v}`)],
          ["stamps", u.stamps], ["created", when(u.createdAt)], ["migrated from", u.migrationSource],
        ], "lookup-profile"), adjust),
        h("section", { class: "card" }, h("h3", {}, "Presence"), facts([
          ["online", u.isConnected ? "yes" : "no"], ["node", u.nodeId], ["room", u.lastRoom],
          ["last sign-in", when(u.lastLoginAt)], ["last active", when(u.lastActiveAt)], ["last left", when(u.lastLogoutAt)],
        ], "lookup-presence")),
        h("section", { class: "card" }, h("h3", {}, "Inventory"), facts([
          ["cosmetics", u.unlockedCosmetics], ["mounts", u.unlockedMounts],
          ["puffle items", Object.entries(u.inventory).map(([k, v]) => `${k} ×${v}`)],
        ], "lookup-inventory")),
        h("section", { class: "card" }, h("h3", {}, "Puffles"), table([
          { key: "name", label: "name" }, { key: "color", label: "colour" },
          { key: "hunger", label: "hunger", num: true }, { key: "happiness", label: "happiness", num: true },
          { key: "walking", label: "walking", format: (v) => (v ? "yes" : "") },
        ], record.puffles, { id: "lookup-puffles" })),
        h("section", { class: "card wide" }, h("h3", {}, "Sign-in sessions"), table([
          { key: "createdAt", label: "signed in", format: when }, { key: "expiresAt", label: "expires", format: when },
          { key: "revokedAt", label: "revoked", format: when }, { key: "revokedReason", label: "why" }, { key: "role", label: "role" },
        ], record.sessions, { id: "lookup-sessions" })),
        h("section", { class: "card wide" }, h("h3", {}, "Connections"), table([
          { key: "connectedAt", label: "connected", format: when }, { key: "disconnectedAt", label: "left", format: when },
          { key: "nodeId", label: "node" }, { key: "roomsVisited", label: "rooms", format: show },
          { key: "closeCode", label: "close", num: true }, { key: "clientVersion", label: "client" },
        ], record.connections, { id: "lookup-connections" })),
        h("section", { class: "card wide" }, h("h3", {}, "Ledger"), h("div", { id: "lookup-ledger" })),
      ));
  }

  function renderLedger() {
    const more = ledger.next
      ? h("button", { type: "button", class: "secondary", id: "ledger-older", onclick: () => morePages().catch((e) => message(status, e.message, "error")) }, "Older entries")
      : h("p", { class: "note" }, "That is every entry.");
    const holder = body.querySelector("#lookup-ledger");
    if (holder) fill(holder, table(LEDGER_COLUMNS, ledger.rows, { id: "ledger-table", empty: "No ledger entries" }), more);
  }

  return { show() {}, hide() {}, lookUp };
}
