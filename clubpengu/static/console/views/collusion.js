// The collusion view (GET /admin/economy/suspicious): pairs of wallets with lopsided
// wagered results, wallets funded mostly by others' losses, and held or rejected
// migrations — each wallet a link to its player's page.
import { fill, h } from "../../shared/dom.js";
import { message, playerLink, table, when } from "../ui.js";

export function collusion(container, { api, go }) {
  const windowSelect = h("select", { id: "collusion-window", "aria-label": "Window" },
    ["24h", "7d", "31d"].map((w) => h("option", { value: w, selected: w === "7d" }, `last ${w}`)));
  const status = h("p", { class: "note", id: "collusion-status", role: "status" });
  const body = h("div", { id: "collusion-body", class: "grid" });
  fill(container, h("h2", {}, "Collusion", windowSelect), status, body);
  const link = (wallet) => playerLink(go, wallet);

  async function refresh() {
    message(status, "Reading…");
    try {
      const data = await api.get("/admin/economy/suspicious", { window: windowSelect.value });
      fill(body,
        h("section", { class: "card wide" }, h("h3", {}, "Lopsided pairs (3+ wagered matches, one side winning 80 %+)"),
          table([
            { key: "from", label: "loses", format: link }, { key: "towards", label: "wins", format: link },
            { key: "matches", label: "matches", num: true },
            { key: "wins", label: "wins", format: (wins) => Object.values(wins).join(" : ") },
            { key: "netCoins", label: "net coins", num: true },
          ], data.lopsidedPairs, { id: "collusion-pairs", empty: "No lopsided pairs" })),
        h("section", { class: "card wide" }, h("h3", {}, "Funded by others' losses (wager winnings half or more of income)"),
          table([
            { key: "walletAddress", label: "wallet", format: link },
            { key: "coinsWon", label: "coins won", num: true }, { key: "otherIncome", label: "other income", num: true },
            { key: "share", label: "share", num: true, format: (v) => `${Math.round(v * 100)} %` },
            { key: "wins", label: "wins", num: true }, { key: "givenUpWins", label: "given up to it", num: true },
            { key: "opponents", label: "opponents", num: true },
          ], data.fundedByOthers, { id: "collusion-funded", empty: "Nobody" })),
        h("section", { class: "card wide" }, h("h3", {}, "Held and rejected migrations"),
          table([
            { key: "walletAddress", label: "wallet", format: link }, { key: "status", label: "status" },
            { key: "coins", label: "coins asked", num: true }, { key: "held", label: "held because" },
            { key: "reason", label: "decision" }, { key: "createdAt", label: "when", format: when },
          ], data.heldMigrations, { id: "collusion-migrations", empty: "None" })),
      );
      message(status, `${when(data.since)} to ${when(data.at)}`);
      status.dataset.ready = "true";
    } catch (error) {
      message(status, error.message, "error");
    }
  }

  windowSelect.addEventListener("change", refresh);
  return { show: refresh, hide() {} };
}
