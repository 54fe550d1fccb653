// The boards of the three games (protocol §11), drawn from a seat's view or a spectator's:
// tic-tac-toe {board[9], turn, result}, connect four {board[6 rows from the bottom][7],
// turn, result}, card-jitsu {hand, pick, banked, lastRound, …}. `move` is null when the
// viewer may not move now; otherwise move(moveObject) sends it.
import { h } from "../shared/dom.js";

const MARKS = ["X", "O"];
const DISCS = ["red", "yellow"];

export const GAMES = { tictactoe: "Tic-tac-toe", connect_four: "Connect four", card_jitsu: "Card-jitsu" };

export function drawBoard(game, view, move) {
  if (game === "tictactoe") return ticTacToe(view, move);
  if (game === "connect_four") return connectFour(view, move);
  if (game === "card_jitsu") return cardJitsu(view, move);
  return h("p", { class: "note" }, `No board for ${game}`);
}

function ticTacToe(view, move) {
  return h("div", { class: "board tictactoe", role: "grid" }, view.board.map((owner, cell) =>
    h("button", {
      type: "button", class: owner === null ? "cell" : `cell seat-${owner}`, dataset: { cell },
      disabled: !move || owner !== null, "aria-label": `Cell ${cell + 1}${owner === null ? "" : `: ${MARKS[owner]}`}`,
      onclick: () => move({ cell }),
    }, owner === null ? "" : MARKS[owner])));
}

function connectFour(view, move) {
  const rows = view.board.length;
  const columns = view.board[0].length;
  const full = (column) => view.board[rows - 1][column] !== null;
  const drops = h("div", { class: "drops" }, Array.from({ length: columns }, (_, column) =>
    h("button", { type: "button", class: "drop", dataset: { column }, disabled: !move || full(column),
      "aria-label": `Drop in column ${column + 1}`, onclick: () => move({ column }) }, "▼")));
  const grid = h("div", { class: "board connect-four" }, [...view.board].reverse().flatMap((row) =>
    row.map((owner) => h("span", { class: owner === null ? "slot" : `slot disc-${DISCS[owner]}` }))));
  return h("div", {}, drops, grid);
}

function card(c, attrs = {}) {
  return h(attrs.onclick ? "button" : "span", { type: attrs.onclick ? "button" : null, class: `jitsu-card ${c.element}`,
    dataset: { card: c.id }, ...attrs }, `${c.element} ${c.value}`);
}

function cardJitsu(view, move) {
  const seats = view.seat === undefined ? [0, 1] : [view.seat, 1 - view.seat];
  const banked = seats.map((seat) => h("div", { class: "banked", dataset: { seat } },
    h("small", {}, view.seat === undefined ? `seat ${seat}` : seat === view.seat ? "you" : "them"), ": ",
    view.banked[seat].map((c) => card(c))));
  const last = view.lastRound
    ? h("p", { class: "note last-round" }, "Last round: ", view.lastRound.cards.map((c) => card(c)),
      view.lastRound.winner === null ? " a tie" : ` won by seat ${view.lastRound.winner}`)
    : null;
  const round = h("p", { class: "note" }, `Round ${view.roundsPlayed + 1} of at most ${view.maxRounds}`);
  if (view.seat === undefined) {
    const picked = view.picked.map((p, seat) => `seat ${seat}: ${p ? "picked" : "choosing"}`).join(", ");
    return h("div", { class: "board card-jitsu" }, round, h("p", {}, picked), banked, last);
  }
  const hand = h("div", { class: "hand" }, view.hand.map((c) =>
    card(c, { onclick: () => move({ cardId: c.id }), disabled: !move || view.pick !== null })));
  const picked = view.pick ? h("p", {}, "You picked ", card(view.pick)) : null;
  const them = h("p", { class: "note" }, view.opponentPicked ? "They have picked." : "They are choosing.");
  return h("div", { class: "board card-jitsu" }, round, hand, picked, them, banked, last);
}
