// The shop: the catalogue (`catalog`), buying (`purchase`, with an idempotency key per
// button so a double click buys once) and wearing (`equip`; the room sees `player_look`).
import { fill, h, newKey } from "../shared/dom.js";

const SLOT_ORDER = ["color", "head", "face", "neck", "body", "hand", "feet", "pin", "background", "mount",
  "food", "toy", "soap", "bed"];

export class Shop {
  /** me() -> {user, look}; onLook(look) and onCoins(balance) report changes; say(text) shows status. */
  constructor(element, socket, { me, onLook, onCoins, say }) {
    this.element = element;
    this.socket = socket;
    this.me = me;
    this.onLook = onLook;
    this.onCoins = onCoins;
    this.say = say;
    this.items = [];
    this.keys = new Map(); // item id -> the idempotency key of its Buy button
  }

  async load() {
    const reply = await this.socket.call({ type: "catalog" });
    this.items = reply.items;
    this.render();
  }

  owns(item) {
    const { user } = this.me();
    if (item.starter) return true;
    if (item.type === "mount") return user.unlockedMounts.includes(item.id);
    if (item.type === "cosmetic") return user.unlockedCosmetics.includes(item.id);
    return false;
  }

  async buy(item) {
    if (!this.keys.has(item.id)) this.keys.set(item.id, newKey());
    const key = this.keys.get(item.id);
    try {
      const result = await this.socket.call({ type: "purchase", itemId: item.id, idempotencyKey: key });
      const { user } = this.me();
      if (item.type === "mount" && !user.unlockedMounts.includes(item.id)) user.unlockedMounts.push(item.id);
      if (item.type === "cosmetic" && !user.unlockedCosmetics.includes(item.id)) user.unlockedCosmetics.push(item.id);
      if (item.type === "puffle_item" && !result.replayed) user.inventory[item.id] = (user.inventory[item.id] ?? 0) + 1;
      this.onCoins(result.coins);
      this.say(`Bought ${item.name} for ${result.price} coins`);
    } catch (error) {
      this.say(error.message);
    } finally {
      this.keys.delete(item.id);
      this.render();
    }
  }

  async wear(slot, itemId) {
    try {
      const reply = await this.socket.call({ type: "equip", slot, itemId });
      this.onLook(reply.customization);
    } catch (error) {
      this.say(error.message);
    }
    this.render();
  }

  render() {
    const bySlot = new Map(SLOT_ORDER.map((slot) => [slot, []]));
    for (const item of this.items) {
      if (!item.forSale && !this.owns(item)) continue;
      if (!bySlot.has(item.slot)) bySlot.set(item.slot, []);
      bySlot.get(item.slot).push(item);
    }
    const groups = [...bySlot].filter(([, items]) => items.length).map(([slot, items]) =>
      h("li", { class: "slot" }, h("h3", {}, slot), h("ul", {}, items.map((item) => this.row(item)))),
    );
    fill(this.element, h("ul", { class: "shop", id: "shop-items" }, groups));
  }

  row(item) {
    const { user, look } = this.me();
    const worn = look[item.slot] === item.id;
    const owned = this.owns(item);
    let action;
    if (item.type === "puffle_item") {
      action = h("button", { class: "buy", onclick: () => this.buy(item) }, `Buy ${item.price}`);
    } else if (!owned) {
      action = h("button", { class: "buy", disabled: user.coins < item.price, onclick: () => this.buy(item) },
        `Buy ${item.price}`);
    } else if (worn) {
      action = item.slot === "color"
        ? h("span", { class: "worn" }, "worn")
        : h("button", { class: "take-off", onclick: () => this.wear(item.slot, null) }, "Take off");
    } else {
      action = h("button", { class: "wear", onclick: () => this.wear(item.slot, item.id) }, "Wear");
    }
    const count = item.type === "puffle_item" && user.inventory[item.id] ? ` ×${user.inventory[item.id]}` : "";
    return h("li", { class: "item", dataset: { item: item.id } }, h("span", {}, item.name + count), action);
  }
}
