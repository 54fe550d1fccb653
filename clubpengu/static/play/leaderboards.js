// The leaderboards (protocol §16, "Leaderboards"): a game's top 100 over this ISO week or
// all time (`leaderboard`), with name, wins and rating, and the player's own rank
// highlighted: in the list when they are in the top, under it when not. Read when asked
// (Show, or a change of game or period): the server keeps a board's top a moment anyway.
import { fill, h } from "../shared/dom.js";
import { GAMES } from "./boards.js";

export const PERIODS = { week: "This week", all: "All time" };

export class LeaderboardsPanel {
  constructor(app, body) {
    this.app = app;
    this.asked = 0; // only the newest answer draws: a slower older one never replaces it
    this.form = h("form", { id: "leaderboard-form", class: "stacked-form", onsubmit: (event) => this.load(event) },
      h("select", { name: "game", "aria-label": "Game", onchange: () => this.load() },
        Object.entries(GAMES).map(([id, name]) => h("option", { value: id }, name))),
      h("select", { name: "period", "aria-label": "Period", onchange: () => this.load() },
        Object.entries(PERIODS).map(([id, name]) => h("option", { value: id }, name))),
      h("button", { type: "submit", id: "load-leaderboard", class: "secondary" }, "Show"));
    this.status = h("p", { id: "leaderboard-status", class: "note", role: "status" });
    this.board = h("div", { id: "leaderboard" });
    fill(body, this.form, this.status, this.board);
  }

  async load(event) {
    event?.preventDefault();
    const game = this.form.elements.game.value;
    const period = this.form.elements.period.value;
    const mine = ++this.asked;
    this.status.textContent = "Reading…";
    try {
      const reply = await this.app.socket.call({ type: "leaderboard", game, period });
      if (mine === this.asked) this.show(reply);
    } catch (error) {
      if (mine !== this.asked) return;
      this.status.textContent = error.message;
      this.status.className = "note error";
    }
  }

  show(reply) {
    const me = reply.me;
    const wallet = me?.walletAddress ?? this.app.me()?.walletAddress;
    const rows = reply.top.map((standing) => row(standing, standing.walletAddress === wallet));
    const inTop = reply.top.some((standing) => standing.walletAddress === wallet);
    if (me && !inTop) rows.push(h("tr", { class: "gap" }, h("td", { colspan: "4" }, "…")), row(me, true));
    const when = reply.period === "week" ? `week ${reply.week}` : "all time";
    this.status.className = "note";
    this.status.textContent = `${GAMES[reply.game] ?? reply.game}, ${when}: ` + (me
      ? `you are #${me.rank} (${me.wins} ${me.wins === 1 ? "win" : "wins"})`
      : "you have no rated match in this period");
    this.status.dataset.rank = me ? String(me.rank) : "";
    this.board.dataset.game = reply.game;
    this.board.dataset.period = reply.period;
    if (!reply.top.length) {
      fill(this.board, h("p", { class: "note" }, "No rated matches yet: win against another player to be first."));
      return;
    }
    fill(this.board, h("table", { class: "leaderboard" },
      h("thead", {}, h("tr", {}, h("th", { class: "num", scope: "col" }, "#"), h("th", { scope: "col" }, "name"),
        h("th", { class: "num", scope: "col" }, "wins"), h("th", { class: "num", scope: "col" }, "rating"))),
      h("tbody", {}, rows)));
  }

  signedOut() {
    this.asked++;
    fill(this.board);
    this.status.textContent = "";
  }
}

function row(standing, mine) {
  const rating = standing.provisional ? `${standing.rating}?` : String(standing.rating);
  return h("tr", {
    class: mine ? "me" : null,
    dataset: { rank: standing.rank, wallet: standing.walletAddress, me: mine ? "true" : null },
  },
  h("td", { class: "num" }, String(standing.rank)),
  h("td", {}, standing.username ?? standing.walletAddress),
  h("td", { class: "num" }, String(standing.wins)),
  h("td", { class: "num", title: standing.provisional ? "provisional: still a guess" : null }, rating));
}
