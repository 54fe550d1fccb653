// Puffles (protocol §10): the player's puffles with their stats, adoption (the colours and
// prices come in the `puffles` reply), care (each action uses up one puffle item of its slot,
// bought in the shop), walking one (the room sees it beside its owner) and release.
import { fill, h } from "../shared/dom.js";

const CARE = [
  ["feed", "food", "Feed"],
  ["play", "toy", "Play"],
  ["bathe", "soap", "Bathe"],
  ["rest", "bed", "Rest"],
];
const STATS = ["hunger", "happiness", "cleanliness", "energy"];

export class PufflesPanel {
  constructor(app, body) {
    this.app = app;
    this.body = body;
    this.puffles = [];
    this.colors = [];
    this.limit = null;
    app.socket.on("puffle_walk", (frame) => app.world.setExtra(frame.playerId, "puffle", frame.puffle));
  }

  async entered() {
    if (this.loaded) return;
    await this.load();
  }

  signedOut() {
    this.loaded = false;
    this.puffles = [];
    fill(this.body);
  }

  async load() {
    const reply = await this.app.socket.call({ type: "puffles" });
    this.puffles = reply.puffles;
    this.colors = reply.colors ?? [];
    this.limit = reply.limit ?? null;
    this.loaded = true;
    this.render();
  }

  async act(frame, done) {
    try {
      const reply = await this.app.socket.call(frame);
      done(reply);
    } catch (error) {
      this.app.say(error.message);
    }
    this.render();
  }

  replace(puffle) {
    this.puffles = this.puffles.map((p) => (p.puffleId === puffle.puffleId ? puffle : p));
  }

  adopt(event) {
    event.preventDefault();
    const form = event.target;
    const color = form.elements.color.value;
    const name = form.elements.name.value.trim();
    form.elements.adopt.disabled = true;
    this.act({ type: "puffle_adopt", color, name }, (reply) => {
      this.puffles.push(reply.puffle);
      this.app.say(`Adopted ${reply.puffle.name}`);
    });
  }

  care(puffle, action, itemId) {
    this.act({ type: `puffle_${action}`, puffleId: puffle.puffleId, itemId }, (reply) => {
      this.replace(reply.puffle);
      this.app.setInventory(reply.itemId, reply.remaining);
    });
  }

  walk(puffle) {
    const puffleId = puffle.walking ? null : puffle.puffleId;
    this.act({ type: "puffle_walk", puffleId }, (reply) => {
      this.puffles = this.puffles.map((p) => ({ ...p, walking: reply.puffle?.puffleId === p.puffleId }));
    });
  }

  release(puffle) {
    this.act({ type: "puffle_release", puffleId: puffle.puffleId }, () => {
      this.puffles = this.puffles.filter((p) => p.puffleId !== puffle.puffleId);
    });
  }

  /** The first item of `slot` the player has, or null. */
  itemFor(slot) {
    const inventory = this.app.me()?.inventory ?? {};
    return this.app.shop.items.find((item) => item.slot === slot && inventory[item.id] > 0) ?? null;
  }

  render() {
    const coins = this.app.me()?.coins ?? 0;
    const rows = this.puffles.map((puffle) => this.row(puffle));
    const full = this.limit !== null && this.puffles.length >= this.limit;
    const adopt = h("form", { id: "adopt-form", class: "adopt", onsubmit: (event) => this.adopt(event) },
      h("select", { name: "color", "aria-label": "Colour" }, this.colors.map((color) =>
        h("option", { value: color.id }, `${color.name} — ${color.price}`))),
      h("input", { name: "name", maxlength: "16", required: true, placeholder: "Name", "aria-label": "Puffle name",
        autocomplete: "off" }),
      h("button", { name: "adopt", type: "submit", disabled: full }, "Adopt"));
    const cheapest = Math.min(...this.colors.map((color) => color.price));
    const note = coins < cheapest
      ? h("p", { class: "note" }, `A puffle costs ${cheapest} coins or more; you have ${coins}.`)
      : null;
    fill(this.body, h("ul", { id: "puffle-list", class: "puffles" }, rows), adopt, note);
  }

  row(puffle) {
    const stats = STATS.map((stat) => h("span", { class: "stat", dataset: { stat } }, `${stat} ${puffle[stat]}`));
    const care = CARE.map(([action, slot, label]) => {
      const item = this.itemFor(slot);
      return h("button", {
        type: "button", class: `care secondary ${action}`, disabled: !item,
        title: item ? `Use one ${item.name}` : `Buy a ${slot} item in the shop first`,
        onclick: () => this.care(puffle, action, item.id),
      }, label);
    });
    return h("li", { class: "puffle", dataset: { puffleId: puffle.puffleId, walking: puffle.walking ? "true" : null } },
      h("b", {}, puffle.name), ` ${puffle.color}`, h("div", { class: "stats" }, stats),
      h("div", { class: "puffle-actions" }, care,
        h("button", { type: "button", class: "walk secondary", onclick: () => this.walk(puffle) },
          puffle.walking ? "Stop walking" : "Walk"),
        h("button", { type: "button", class: "release secondary", onclick: () => this.release(puffle) }, "Release")));
  }
}
