// The stamp book (protocol §16, "Stamps"): every stamp of the catalogue by category, each
// with its name, difficulty, description and coin reward, earned (and when) or not yet.
// The catalogue comes once, from `{"type":"stamps"}` after the first sign-in; the profile
// (`user.stamps` and `user.stampsEarnedAt` of auth_success and joined) says which the
// player holds and since when; `stamp_earned` carries a stamp in full, and shows a toast
// naming it and its coins.
//
// Until the catalogue arrives (or if it cannot), the book lists what the player holds: a
// stamp the catalogue does not describe shows by its id.
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
    this.earned = new Map(); // id -> {at: Date | null} (null: the server kept no time)
    this.catalogue = null; // the pending or answered `stamps` request
    this.summary = h("p", { id: "stamp-count", class: "note", role: "status" });
    this.book = h("div", { id: "stamp-book", class: "stamp-book" });
    fill(body, this.summary, this.book);
    app.socket.on("stamp_earned", (frame) => this.stampEarned(frame.stamp));
  }

  // --- the page's hooks ------------------------------------------------------------------

  signedIn(success) {
    this.earned.clear();
    this.hold(success.user?.stamps, success.user?.stampsEarnedAt);
    this.loadCatalogue();
  }

  entered(joined) {
    // A reconnect's profile may name stamps earned meanwhile.
    this.hold(joined.user?.stamps, joined.user?.stampsEarnedAt);
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

  /** The catalogue, asked once per page: it changes only when the server is deployed. */
  loadCatalogue() {
    this.catalogue ??= this.app.socket.call({ type: "stamps" }).then(
      (reply) => this.learn(reply.stamps),
      () => {
        this.catalogue = null; // asked again at the next sign-in
      });
  }

  /** The profile's stamps and, by id, when each was earned (ISO text; absent: not kept). */
  hold(ids, earnedAt) {
    for (const id of ids ?? []) {
      const at = new Date(earnedAt?.[id] ?? NaN);
      this.earned.set(id, { at: Number.isNaN(at.getTime()) ? (this.earned.get(id)?.at ?? null) : at });
    }
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
        h("span", { class: "stamp-name" }, h("code", {}, id)), " ",
        h("time", { class: "when", datetime: earned.at?.toISOString() }, earnedText(earned.at)));
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
    earned ? h("time", { class: "when", datetime: earned.at?.toISOString() }, earnedText(earned.at))
      : h("span", { class: "when" }, "not yet"));
  }
}

/** "earned 4 Dec 2026, 14:02", or "earned" for a stamp whose time the server did not keep. */
export function earnedText(at) {
  if (!at) return "earned";
  return `earned ${at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}`;
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
