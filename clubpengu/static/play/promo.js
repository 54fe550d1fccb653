// Promo codes (protocol §7): a code in, coins and items out; the balance arrives as a `coins`
// push like every other change.
import { fill, h } from "../shared/dom.js";

export class PromoPanel {
  constructor(app, body) {
    this.app = app;
    this.result = h("p", { id: "promo-result", class: "note", role: "status" });
    fill(body, h("form", { id: "promo-form", class: "inline-form", onsubmit: (event) => this.redeem(event) },
      h("input", { name: "code", required: true, maxlength: "32", placeholder: "Code", "aria-label": "Promo code",
        autocomplete: "off" }),
      h("button", { type: "submit" }, "Redeem")), this.result);
  }

  async redeem(event) {
    event.preventDefault();
    const input = event.target.elements.code;
    try {
      const reply = await this.app.socket.call({ type: "redeem_promo", code: input.value.trim() });
      const items = reply.items.length ? ` and ${reply.items.join(", ")}` : "";
      this.result.className = "note success";
      this.result.textContent = `${reply.code}: +${reply.coins} coins${items}`;
      this.app.gotItems(reply.items);
      input.value = "";
    } catch (error) {
      this.result.className = "note error";
      this.result.textContent = error.message;
    }
  }
}
