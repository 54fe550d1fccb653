// "Here now": the room's players, kept as one list item per player and updated in place (a
// `moves` batch comes ten times a second; buttons must not be rebuilt under the pointer).
// Each item mirrors the canvas in data attributes (position, look) for tests and tools, and
// offers what one can do with that player: challenge, report, watch their match, ask to be
// buddies, ignore (buddies.js keeps the lists; a guest, without a wallet, gets neither).
import { $, h } from "../shared/dom.js";

export class Roster {
  /** app: see main.js; list: the <ul> to fill. */
  constructor(app, list) {
    this.app = app;
    this.list = list;
    this.items = new Map(); // playerId -> <li>
  }

  render() {
    const { world } = this.app;
    for (const [id, item] of this.items) {
      if (!world.players.has(id)) {
        item.remove();
        this.items.delete(id);
      }
    }
    for (const player of world.players.values()) {
      let item = this.items.get(player.id);
      if (!item) {
        item = this.item(player);
        this.items.set(player.id, item);
        this.list.append(item);
      }
      this.update(item, player);
    }
  }

  item(player) {
    const mine = player.id === this.app.playerId();
    const actions = mine ? [] : [
      h("button", { type: "button", class: "challenge secondary", title: "Challenge to a game",
        onclick: () => this.app.matches.prepare(player.id) }, "Challenge"),
      h("button", { type: "button", class: "report secondary", title: "Report to the staff",
        onclick: () => this.app.reports.prepare(player.id) }, "Report"),
      h("button", { type: "button", class: "watch secondary", hidden: true, title: "Watch this match",
        onclick: () => {
          const match = this.app.world.players.get(player.id)?.match;
          if (match) this.app.matches.watch(match.matchId);
        } }, "Watch"),
      h("button", { type: "button", class: "add-buddy secondary", hidden: true, title: "Ask to be buddies",
        onclick: () => this.app.buddies.ask(this.app.world.players.get(player.id) ?? player) }, "Add buddy"),
      h("button", { type: "button", class: "ignore secondary", hidden: true,
        title: "Stop seeing their chat and emotes, or see them again",
        onclick: () => this.app.buddies.toggleIgnore(this.app.world.players.get(player.id) ?? player) }, "Ignore"),
    ];
    return h("li", { dataset: { playerId: player.id, me: mine ? "true" : null } },
      player.name, h("small", { class: "look" }), h("span", { class: "badges" }),
      h("span", { class: "actions" }, actions));
  }

  update(item, player) {
    const data = item.dataset;
    data.x = String(Math.round(player.serverX));
    data.y = String(Math.round(player.serverY));
    data.look = JSON.stringify(player.look);
    if (item.firstChild.textContent !== player.name) item.firstChild.textContent = player.name;
    const look = ` ${player.look.color ?? ""}${player.look.head ? `, ${player.look.head}` : ""}`;
    const small = $("small.look", item);
    if (small.textContent !== look) small.textContent = look;
    const badges = [
      player.puffle ? `🐾 ${player.puffle.name}` : null,
      player.match ? `playing ${player.match.game}` : null,
    ].filter(Boolean).join(" · ");
    const badge = $(".badges", item);
    if (badge.textContent !== badges) badge.textContent = badges ? ` ${badges}` : "";
    if (player.match) data.match = player.match.matchId;
    else delete data.match;
    const watch = $("button.watch", item);
    if (watch) watch.hidden = !player.match || this.app.matches.playing(player.match.matchId);
    this.social(item, player);
  }

  social(item, player) {
    const { buddies } = this.app;
    const buddy = Boolean(player.wallet) && buddies.isBuddy(player.wallet);
    const ignored = Boolean(player.wallet) && buddies.isIgnored(player.wallet);
    if (buddy) item.dataset.buddy = "true";
    else delete item.dataset.buddy;
    if (ignored) item.dataset.ignored = "true";
    else delete item.dataset.ignored;
    const add = $("button.add-buddy", item);
    if (add) add.hidden = !player.wallet || buddy || ignored;
    const ignore = $("button.ignore", item);
    if (!ignore) return;
    ignore.hidden = !player.wallet;
    const label = ignored ? "Unignore" : "Ignore";
    if (ignore.textContent !== label) ignore.textContent = label;
  }
}
