// The leaderboards (GET /leaderboards/{game}?period=&wallet=, public): a game's top 100
// over this ISO week or all time, each player a link to their page, and, given a wallet,
// where that player stands (also beyond the top 100), highlighted.
import { fill, h } from "../../shared/dom.js";
import { field, message, playerLink, table } from "../ui.js";

const GAMES = { tictactoe: "Tic-tac-toe", connect_four: "Connect four", card_jitsu: "Card-jitsu" };
const PERIODS = { week: "This week", all: "All time" };

export function leaderboards(container, { api, go }) {
  const game = h("select", { id: "leaderboard-game", name: "game" },
    Object.entries(GAMES).map(([id, name]) => h("option", { value: id }, name)));
  const period = h("select", { id: "leaderboard-period", name: "period" },
    Object.entries(PERIODS).map(([id, name]) => h("option", { value: id }, name)));
  const wallet = h("input", { id: "leaderboard-wallet", name: "wallet", size: 46, maxlength: 64, placeholder: "optional: whose rank" });
  const form = h("form", { id: "leaderboard-form", class: "row wrap filters" },
    field("Game", game), field("Period", period), field("Wallet", wallet),
    h("button", { type: "submit", id: "leaderboard-refresh" }, "Refresh"));
  const status = h("p", { class: "note", id: "leaderboard-status", role: "status" });
  const body = h("div", { id: "leaderboard-body" });
  fill(container, h("h2", {}, "Leaderboards"), form, status, body);
  let asked = 0;

  async function refresh(event) {
    event?.preventDefault();
    const mine = ++asked;
    message(status, "Reading…");
    try {
      const board = await api.get(`/leaderboards/${encodeURIComponent(game.value)}`,
        { period: period.value, wallet: wallet.value.trim() });
      if (mine !== asked) return;
      const me = board.me;
      const rows = me && !board.top.some((s) => s.walletAddress === me.walletAddress) ? [...board.top, me] : board.top;
      const columns = [
        { key: "rank", label: "#", num: true },
        { key: "username", label: "player", format: (name, row) => playerLink(go, row.walletAddress, name) },
        { key: "wins", label: "wins", num: true },
        { key: "losses", label: "losses", num: true },
        { key: "draws", label: "draws", num: true },
        { key: "rating", label: "rating", num: true, format: (r, row) => (row.provisional ? `${r} (provisional)` : String(r)) },
      ];
      fill(body, table(columns, rows, {
        id: "leaderboard-table", empty: "No rated matches in this period",
        rowData: (row) => ({ wallet: row.walletAddress, rank: row.rank, me: me && row.walletAddress === me.walletAddress ? "true" : null }),
      }));
      const scope = board.period === "week" ? `week ${board.week}` : "all time";
      const rank = wallet.value.trim()
        ? (me ? `; that wallet is #${me.rank}` : "; that wallet has no rated match in this period") : "";
      message(status, `${GAMES[board.game] ?? board.game}, ${scope}: ${board.top.length} shown${rank}`);
      status.dataset.ready = "true";
    } catch (error) {
      if (mine === asked) message(status, error.message, "error");
    }
  }

  form.addEventListener("submit", refresh);
  game.addEventListener("change", refresh);
  period.addEventListener("change", refresh);
  return {
    show(target) {
      if (target) wallet.value = target;
      refresh();
    },
    hide() {},
  };
}
