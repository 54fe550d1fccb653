// Questions the page asks the player (a challenge to accept or decline, a save to bring):
// cards above the room, each with its buttons, gone once answered or withdrawn.
import { $, fill, h } from "../shared/dom.js";

export class Prompts {
  constructor(element) {
    this.element = element;
  }

  /** kind and id name the card (data-prompt, data-id); each action is {label, name, run}:
   * its button is off while run() works, and the card goes once it resolves (unless it
   * returns false). */
  show({ kind, id, title, text, actions }) {
    this.remove(id);
    const status = h("p", { class: "note prompt-status", role: "status" });
    const buttons = actions.map(({ label, name, run, secondary }) =>
      h("button", {
        type: "button", class: `${name}${secondary ? " secondary" : ""}`,
        onclick: async (event) => {
          const all = [...card.querySelectorAll("button")];
          for (const button of all) button.disabled = true;
          try {
            if ((await run()) !== false) card.remove();
          } catch (error) {
            status.textContent = error.message;
          } finally {
            for (const button of all) button.disabled = false;
          }
          event.preventDefault();
        },
      }, label));
    const card = h("section", { class: "card prompt", role: "alertdialog", dataset: { prompt: kind, id },
      "aria-label": title },
    h("h2", {}, title), h("div", { class: "prompt-text" }, text), h("p", { class: "prompt-actions" }, buttons), status);
    this.element.append(card);
    buttons[0]?.focus();
    return card;
  }

  clear() {
    this.element.replaceChildren();
  }

  remove(id) {
    for (const card of this.element.querySelectorAll(".prompt")) if (card.dataset.id === id) card.remove();
  }

  /** Replace a card's text (the answer to the question, say) and leave a Close button. */
  settle(card, ...text) {
    fill($(".prompt-text", card), text);
    fill($(".prompt-actions", card), h("button", { type: "button", class: "close secondary",
      onclick: () => card.remove() }, "Close"));
  }
}
