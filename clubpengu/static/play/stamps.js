// The stamp book (protocol §16, "Stamps"): the stamps this player holds, by category, each
// with its name, difficulty, description, coin reward and when it was earned. The profile
// (`user.stamps` of auth_success and joined) carries only the ids, in the order earned;
// `stamp_earned` carries a stamp in full, and shows a toast naming it and its coins.
//
// The server sends no catalogue of the stamps still to earn, so the book lists what it
// holds: a stamp earned before this visit shows by its id until a push tells more of it.
// `learn(stamps)` takes catalogue entries ({id, name, description, category, difficulty,
// reward}); given them, the book shows every stamp, earned or not.
import { fill, h } from "../shared/dom.js";
import { coins } from "./rewards.js";

// Club Penguin's book: its categories in order, and a colour per difficulty (play.css).
export const CATEGORIES = { games: "Games", activities: "Activities", puffles: "Puffles", social: "Social" };
export const DIFFICULTIES = { easy: "easy", medium: "medium", hard: "hard", extreme: "extreme" };
const EARLIER = "earlier"; // the group of ids the profile names but no push has described
const TOAST_MS = 8000;

export class StampBook {
  constructor(app, body) {
    this.app = app;
    this.known = new Map(); // id -> the stamp as the server described it
    this.earned = new Map(); // id -> {at: Date | null} (null: earned before this visit)
    this.summary = h("p", { id: "stamp-count", class: "note", role: "status" });
    this.book = h("div", { id: "stamp-book", class: "stamp-book" });
    fill(body, this.summary, this.book);
    app.socket.on("stamp_earned", (frame) => this.stampEarned(frame.stamp));
  }

  // --- the page's hooks ------------------------------------------------------------------

  signedIn(success) {
    this.earned.clear();
    this.hold(success.user?.stamps);
  }

  entered(joined) {
    this.hold(joined.user?.stamps); // a reconnect's profile may name stamps earned meanwhile
  }

  signedOut() {
    this.earned.clear();
    this.render();
  }

  // --- what the server says ----------------------------------------------------------------

  /** Catalogue entries: the book then shows them whether earned or not. */
  learn(stamps) {
    for (const stamp of stamps ?? []) if (stamp?.id) this.known.set(stamp.id, stamp);
    this.render();
  }

  hold(ids) {
    for (const id of ids ?? []) if (!this.earned.has(id)) this.earned.set(id, { at: null });
    this.render();
  }

  stampEarned(stamp) {
    if (!stamp?.id) return;
    this.known.set(stamp.id, stamp);
    this.earned.set(stamp.id, { at: new Date() });
    this.render();
    toast(stamp);
  }

  // --- drawing -------------------------------------------------------------------------------

  render() {
    const groups = new Map([...Object.keys(CATEGORIES), EARLIER].map((key) => [key, []]));
    const ids = new Set([...this.known.keys(), ...this.earned.keys()]);
    for (const id of ids) {
      const stamp = this.known.get(id);
      const group = stamp ? (groups.has(stamp.category) ? stamp.category : EARLIER) : EARLIER;
      groups.get(group).push(id);
    }
    const n = this.earned.size;
    this.summary.textContent = n === 0 ? "No stamps yet: play, shop, adopt a puffle, make a buddy…"
      : `${n} ${n === 1 ? "stamp" : "stamps"} earned`;
    this.summary.dataset.count = String(n);
    fill(this.book, [...groups].filter(([, list]) => list.length).map(([group, list]) =>
      h("section", { class: "stamp-group", dataset: { category: group } },
        h("h3", {}, group === EARLIER ? "Earned before this visit" : CATEGORIES[group]),
        h("ul", { class: "stamps" }, list.map((id) => this.entry(id))))));
  }

  entry(id) {
    const stamp = this.known.get(id);
    const earned = this.earned.get(id);
    const state = earned ? "true" : "false";
    if (!stamp) {
      return h("li", { class: "stamp earned", dataset: { stamp: id, earned: state } },
        h("span", { class: "stamp-name" }, h("code", {}, id)), " ", h("span", { class: "when" }, "earned"));
    }
    const difficulty = DIFFICULTIES[stamp.difficulty] ?? "easy";
    return h("li", {
      class: `stamp ${earned ? "earned" : "to-earn"}`,
      dataset: { stamp: id, earned: state, difficulty },
      title: stamp.description,
    },
    h("span", { class: `badge ${difficulty}`, "aria-label": `difficulty ${difficulty}` }, difficulty),
    " ", h("span", { class: "stamp-name" }, stamp.name),
    stamp.reward > 0 ? h("span", { class: "stamp-reward" }, ` ${coins(stamp.reward)}`) : null,
    h("span", { class: "description" }, stamp.description),
    earned ? h("span", { class: "when" }, earnedText(earned.at)) : h("span", { class: "when" }, "not yet"));
  }
}

/** "earned 14:02" for a stamp earned while the page was open, "earned" for an older one. */
export function earnedText(at) {
  if (!at) return "earned";
  return `earned ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

/** "Stamp earned: First Victory (+10 coins)". */
export function toastText(stamp) {
  const reward = stamp.reward > 0 ? ` (${coins(stamp.reward)})` : "";
  return `Stamp earned: ${stamp.name ?? stamp.id}${reward}`;
}

function toast(stamp) {
  let holder = document.getElementById("toasts");
  if (!holder) {
    holder = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(holder);
  }
  const note = h("button", {
    type: "button", class: `toast ${DIFFICULTIES[stamp.difficulty] ?? "easy"}`,
    dataset: { stamp: stamp.id }, title: "Dismiss",
    onclick: () => note.remove(),
  }, toastText(stamp));
  holder.append(note);
  setTimeout(() => note.remove(), TOAST_MS);
}
