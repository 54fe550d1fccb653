// Challenges and matches (protocol §11): challenge a player of the room (the roster's
// "Challenge" picks them), answer a challenge sent to you (a prompt: accept or decline),
// cancel your own, play the computer at a level (a challenge that starts the match at once),
// play on the game's board (match_start / match_state / match_end, with the coins the match
// earned at its end), forfeit, watch a match of the room (match_watch, then match_spectate
// pushes), and the history with each match's reward.
import { $, fill, h } from "../shared/dom.js";
import { GAMES, drawBoard } from "./boards.js";
import { LEVELS, computerName, historyReward, rewardText } from "./rewards.js";

const COMPUTER = "computer"; // the computer seat's walletAddress
const ENDINGS = { declined: "declined", cancelled: "was cancelled", expired: "expired", challenger_left: "ended: the challenger left" };

export class MatchesPanel {
  /** app: see main.js; body: the side panel; board: the #match section by the room. */
  constructor(app, body, board) {
    this.app = app;
    this.body = body;
    this.board = board;
    this.match = null; // the frame shown: my match (match_*) or the one watched (match_watching/spectate)
    this.watching = null; // the matchId watched
    this.sent = new Map(); // challengeId -> challenge_sent
    this.roomMatches = new Map(); // matchId -> room_match (active ones)
    this.form = h("form", { id: "challenge-form", class: "stacked-form", onsubmit: (event) => this.challenge(event) },
      h("select", { name: "opponent", required: true, "aria-label": "Opponent" }),
      h("select", { name: "game", "aria-label": "Game" },
        Object.entries(GAMES).map(([id, name]) => h("option", { value: id }, name))),
      h("label", { class: "note" }, "wager ", h("input", { name: "wager", type: "number", min: "0", value: "0",
        inputmode: "numeric", "aria-label": "Wager in coins" })),
      h("button", { type: "submit" }, "Challenge"));
    this.computerForm = h("form", { id: "computer-form", class: "stacked-form",
      onsubmit: (event) => this.playComputer(event) },
      h("select", { name: "game", "aria-label": "Game against the computer" },
        Object.entries(GAMES).map(([id, name]) => h("option", { value: id }, name))),
      h("select", { name: "level", "aria-label": "The computer's level" },
        Object.entries(LEVELS).map(([id, name]) => h("option", { value: id, selected: id === "normal" }, name))),
      h("button", { type: "submit" }, "Play the computer"));
    this.outgoing = h("ul", { id: "challenges-sent", class: "plain" });
    this.rooms = h("ul", { id: "room-matches", class: "plain" });
    this.history = h("ol", { id: "match-history", class: "plain" });
    fill(body, this.form, this.outgoing, h("h3", {}, "Play the computer"), this.computerForm,
      h("h3", {}, "Matches in this room"), this.rooms,
      h("h3", {}, "Your last matches"),
      h("button", { type: "button", id: "load-history", class: "secondary", onclick: () => this.loadHistory() },
        "Show"), this.history);

    // The turn's time left, by this browser's clock (the server's turnDeadline decides).
    setInterval(() => this.tick(), 1000);
    const on = (type, fn) => app.socket.on(type, fn);
    on("challenge", (frame) => this.challenged(frame));
    on("challenge_ended", (frame) => this.ended(frame));
    for (const type of ["match_start", "match_state", "match_end"]) on(type, (frame) => this.show(frame));
    on("match_spectate", (frame) => this.spectate(frame));
    on("room_match", (frame) => this.roomMatch(frame));
  }

  // --- the page's hooks ------------------------------------------------------------------

  entered() {
    this.sent.clear(); // leaving a room cancels the challenges sent there
    this.watching = null; // and stops watching
    if (this.match && !this.mine(this.match)) this.close();
    this.roomMatches.clear();
    for (const player of this.app.world.players.values()) {
      if (!player.match) continue;
      const { opponent } = player.match;
      const other = opponent === COMPUTER ? { name: "Computer" } : this.app.world.byWallet(opponent);
      this.roomMatches.set(player.match.matchId, {
        matchId: player.match.matchId, game: player.match.game, status: "active",
        players: [{ username: player.name, walletAddress: player.wallet },
          { username: other?.name ?? "?", walletAddress: opponent }],
      });
    }
    this.renderLists();
  }

  rosterChanged() {
    const select = this.form.elements.opponent;
    const others = [...this.app.world.players.values()].filter((p) => p.id !== this.app.playerId());
    if (others.length === select.options.length && others.every((p, i) => select.options[i].value === p.id)) return;
    const chosen = select.value;
    fill(select, others.map((p) => h("option", { value: p.id }, p.name)));
    if (others.some((p) => p.id === chosen)) select.value = chosen;
  }

  signedOut() {
    this.sent.clear();
    this.roomMatches.clear();
    this.close();
    this.renderLists();
  }

  /** The roster's "Challenge": pick that player in the form. */
  prepare(playerId) {
    this.rosterChanged();
    this.form.elements.opponent.value = playerId;
    this.body.parentElement.open = true;
    this.form.elements.game.focus();
  }

  playing(matchId) {
    return this.match?.matchId === matchId;
  }

  mine(frame) {
    return frame.seat !== undefined;
  }

  // --- challenges --------------------------------------------------------------------------

  async challenge(event) {
    event.preventDefault();
    const { opponent, game, wager } = this.form.elements;
    try {
      const sent = await this.app.socket.call({
        type: "challenge", targetPlayerId: opponent.value, game: game.value, wager: Number(wager.value || 0),
      });
      this.sent.set(sent.challengeId, sent);
      this.app.say(`Challenge sent to ${this.app.nameOf(sent.targetPlayerId)}`);
    } catch (error) {
      this.app.say(error.message);
    }
    this.renderLists();
  }

  async playComputer(event) {
    event.preventDefault();
    const { game, level } = this.computerForm.elements;
    await this.startComputer(game.value, level.value);
  }

  /** A match against the computer starts at once: the reply is its match_start. */
  async startComputer(game, level) {
    try {
      this.show(await this.app.socket.call({ type: "challenge", opponent: COMPUTER, game, level }));
    } catch (error) {
      this.app.say(error.message);
    }
  }

  challenged(frame) {
    const wager = frame.wager ? ` for ${frame.wager} coins` : "";
    this.app.prompts.show({
      kind: "challenge", id: frame.challengeId, title: "A challenge",
      text: `${frame.from.username} challenges you to ${GAMES[frame.game] ?? frame.game}${wager}.`,
      actions: [
        { label: "Accept", name: "accept", run: async () => this.show(await this.app.socket.call(
          { type: "challenge_accept", challengeId: frame.challengeId })) },
        { label: "Decline", name: "decline", secondary: true, run: () => this.app.socket.call(
          { type: "challenge_decline", challengeId: frame.challengeId }) },
      ],
    });
  }

  async cancel(challengeId) {
    try {
      await this.app.socket.call({ type: "challenge_cancel", challengeId });
    } catch (error) {
      this.app.say(error.message);
    }
    this.sent.delete(challengeId);
    this.renderLists();
  }

  ended(frame) {
    this.app.prompts.remove(frame.challengeId);
    const sent = this.sent.get(frame.challengeId);
    if (sent) {
      this.sent.delete(frame.challengeId);
      this.app.say(`Your challenge to ${this.app.nameOf(sent.targetPlayerId)} ${ENDINGS[frame.reason] ?? frame.reason}`);
      this.renderLists();
    }
  }

  // --- matches -----------------------------------------------------------------------------

  /** A frame of my match: newer than the one shown (by seq), or its end, which a late
   * match_state reply of the same seq must not undo. */
  show(frame) {
    const current = this.match;
    if (current && current.matchId === frame.matchId && this.mine(current)) {
      if (frame.seq < current.seq) return;
      if (current.status !== "active" && frame.status === "active") return;
    }
    for (const id of [...this.sent.keys()]) this.sent.delete(id); // a match ends the others
    if (this.watching) this.unwatch();
    this.match = frame;
    this.render();
    this.tick();
    this.renderLists();
  }

  async move(move) {
    const { matchId } = this.match;
    try {
      this.show(await this.app.socket.call({ type: "match_move", matchId, move }));
    } catch (error) {
      this.app.say(error.message);
    }
  }

  async forfeit() {
    try {
      await this.app.socket.call({ type: "match_forfeit", matchId: this.match.matchId });
    } catch (error) {
      this.app.say(error.message);
    }
  }

  async watch(matchId) {
    try {
      this.spectate(await this.app.socket.call({ type: "match_watch", matchId }), true);
    } catch (error) {
      this.app.say(error.message);
    }
  }

  async unwatch() {
    const matchId = this.watching;
    this.watching = null;
    if (this.match?.matchId === matchId) this.close();
    try {
      await this.app.socket.call({ type: "match_unwatch", matchId });
    } catch {
      // Already over or left the room: nothing is watched either way.
    }
  }

  spectate(frame, started = false) {
    if (!started && frame.matchId !== this.watching) return;
    if (this.match && this.mine(this.match) && this.match.status === "active") return;
    if (this.match?.matchId === frame.matchId && frame.seq < this.match.seq) return;
    this.watching = frame.status === "active" ? frame.matchId : null;
    this.match = frame;
    this.render();
  }

  roomMatch(frame) {
    const active = frame.status === "active";
    if (active) this.roomMatches.set(frame.matchId, frame);
    else this.roomMatches.delete(frame.matchId);
    const [a, b] = frame.players;
    for (const [me, other] of [[a, b], [b, a]]) {
      const player = this.app.world.byWallet(me.walletAddress);
      if (player) this.app.world.setExtra(player.id, "match", active
        ? { matchId: frame.matchId, game: frame.game, opponent: other.walletAddress } : null);
    }
    this.renderLists();
  }

  close() {
    this.match = null;
    this.render();
  }

  async loadHistory() {
    try {
      const reply = await this.app.socket.call({ type: "match_history", limit: 10 });
      fill(this.history, reply.matches.length ? reply.matches.map((m) => {
        const against = m.opponent.walletAddress === COMPUTER ? computerName(m.opponent.level) : m.opponent.username;
        return h("li", { dataset: { matchId: m.matchId, reward: String(m.reward ?? 0) } },
          `${GAMES[m.game] ?? m.game} vs ${against}: ${m.result} (${m.reason}) `,
          h("span", { class: "reward" }, historyReward(m)));
      })
        : h("li", { class: "note" }, "No finished match yet."));
    } catch (error) {
      this.app.say(error.message);
    }
  }

  // --- drawing -----------------------------------------------------------------------------

  renderLists() {
    fill(this.outgoing, [...this.sent.values()].map((sent) =>
      h("li", { dataset: { challengeId: sent.challengeId } },
        `${GAMES[sent.game] ?? sent.game} → ${this.app.nameOf(sent.targetPlayerId)} `,
        h("button", { type: "button", class: "cancel secondary", onclick: () => this.cancel(sent.challengeId) },
          "Cancel"))));
    const matches = [...this.roomMatches.values()];
    fill(this.rooms, matches.length ? matches.map((m) =>
      h("li", { dataset: { matchId: m.matchId } },
        `${GAMES[m.game] ?? m.game}: ${m.players.map((p) => playerName(m, p)).join(" vs ")} `,
        this.playing(m.matchId) ? null : h("button", { type: "button", class: "watch secondary",
          onclick: () => this.watch(m.matchId) }, "Watch")))
      : h("li", { class: "note" }, "None now."));
  }

  render() {
    const frame = this.match;
    this.board.hidden = !frame;
    if (!frame) {
      fill(this.board);
      delete this.board.dataset.matchId;
      return;
    }
    const mine = this.mine(frame);
    const active = frame.status === "active";
    const computer = frame.opponent === COMPUTER;
    const names = frame.players.map((p) => playerName(frame, p));
    const canMove = mine && active && frame.toMove.includes(frame.seat);
    Object.assign(this.board.dataset, { matchId: frame.matchId, status: frame.status, game: frame.game,
      mode: mine ? "play" : "watch", seq: String(frame.seq), seat: mine ? String(frame.seat) : "",
      opponent: computer ? COMPUTER : "player", level: frame.level ?? "" });
    const waiting = computer ? "The computer's move" : "Their move";
    const turn = active
      ? (mine ? (canMove ? "Your move" : waiting) : `${frame.toMove.map((s) => names[s]).join(" and ")} to move`)
      : this.outcome(frame, mine, names);
    const reward = mine && !active ? rewardText(frame) : null;
    const again = mine && !active && computer
      ? h("button", { type: "button", class: "again", onclick: () => this.startComputer(frame.game, frame.level) },
        "Play again")
      : null;
    const actions = mine && active
      ? h("button", { type: "button", class: "forfeit secondary", onclick: () => this.forfeit() }, "Forfeit")
      : mine || !active
        ? h("button", { type: "button", class: "close secondary", onclick: () => this.close() }, "Close")
        : h("button", { type: "button", class: "unwatch secondary", onclick: () => this.unwatch() }, "Stop watching");
    fill(this.board,
      h("h2", {}, `${GAMES[frame.game] ?? frame.game}: ${names.join(" vs ")}`,
        frame.wager ? h("small", {}, ` wager ${frame.wager}`) : null, mine ? null : h("small", {}, " (watching)")),
      h("p", { class: "turn", role: "status" }, turn),
      reward ? h("p", { class: frame.reward > 0 ? "reward earned" : "reward note",
        dataset: { reward: String(frame.reward), rewardReason: frame.rewardReason ?? "" } }, reward) : null,
      active && frame.turnDeadline ? h("p", { class: "note deadline", dataset: { deadline: frame.turnDeadline } }) : null,
      drawBoard(frame.game, frame.view, canMove ? (move) => this.move(move) : null),
      h("p", {}, again, again ? " " : null, actions));
  }

  tick() {
    const line = $(".deadline", this.board);
    if (!line) return;
    const left = Math.max(0, Math.ceil((Date.parse(line.dataset.deadline) - Date.now()) / 1000));
    line.textContent = `${left} s left for this turn`;
  }

  outcome(frame, mine, names) {
    const winner = frame.players.findIndex((p) => p.walletAddress === frame.winner);
    const said = mine
      ? { win: "You won", loss: "You lost", draw: "A draw" }[frame.result] ?? frame.status
      : winner >= 0 ? `${names[winner]} won` : "A draw";
    return `${said} (${frame.reason})${frame.refunded ? ", stakes refunded" : ""}`;
  }
}

/** A player of a match frame as the board names it: the computer with its level. */
function playerName(frame, player) {
  return player.walletAddress === COMPUTER ? computerName(frame.level) : player.username;
}
