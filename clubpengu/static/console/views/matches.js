// Matches: the live ones (refreshed while on screen) or the finished ones, newest first,
// with links to both players (GET /admin/matches).
import { fill, h } from "../../shared/dom.js";
import { message, pagedList, playerLink, table, when } from "../ui.js";

const REFRESH_MS = 5000;

export function matches(container, { api, go }) {
  const which = h("select", { id: "matches-status", "aria-label": "Which matches" },
    h("option", { value: "live" }, "live"), h("option", { value: "finished" }, "finished"));
  const refresh = h("button", { type: "button", class: "secondary", id: "matches-refresh" }, "Refresh");
  const status = h("p", { class: "note", id: "matches-status-line", role: "status" });
  const list = pagedList({
    api, path: "/admin/matches", key: "matches", id: "matches-list", status,
    query: () => ({ status: which.value, limit: 50 }),
    render: (rows) => table([
      { key: "createdAt", label: "started", format: when }, { key: "game", label: "game" },
      { key: "players", label: "players", format: (players, m) => h("span", {}, ...players.flatMap((p, i) => [
        i ? " vs " : null, playerLink(go, p.walletAddress, p.username), p.walletAddress === m.winnerWallet ? " (won)" : null])) },
      { key: "wager", label: "wager", num: true }, { key: "moves", label: "moves", num: true },
      { key: "status", label: "status" }, { key: "reason", label: "how it ended" },
      { key: "room", label: "room" }, { key: "endedAt", label: "ended", format: when },
    ], rows, { id: "matches-table", empty: which.value === "live" ? "Nobody is playing" : "No finished matches", rowData: (m) => ({ matchId: m.id }) }),
  });
  fill(container, h("h2", {}, "Matches", which, refresh), status, list.element);
  let timer = null;

  which.addEventListener("change", () => list.load());
  refresh.addEventListener("click", () => list.load());
  return {
    show() {
      list.load();
      // Only the live list moves on its own; a finished list being paged is left alone.
      timer = setInterval(() => {
        if (document.visibilityState === "visible" && which.value === "live") list.load();
      }, REFRESH_MS);
    },
    hide() {
      clearInterval(timer);
      message(status, "");
    },
  };
}
