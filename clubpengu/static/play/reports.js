// Reporting a player of this room to the staff (protocol §13). The roster's "Report" button
// picks the player here; nobody but the staff is told.
import { fill, h } from "../shared/dom.js";

const CATEGORIES = ["chat", "name", "cheating", "other"];

export class ReportsPanel {
  constructor(app, body) {
    this.app = app;
    this.body = body;
    this.form = h("form", { id: "report-form", class: "stacked-form", onsubmit: (event) => this.send(event) },
      h("select", { name: "player", required: true, "aria-label": "Player to report" }),
      h("select", { name: "category", "aria-label": "What is wrong" },
        CATEGORIES.map((category) => h("option", { value: category }, category))),
      h("input", { name: "text", maxlength: "500", placeholder: "What happened (optional)", "aria-label": "Details",
        autocomplete: "off" }),
      h("button", { type: "submit" }, "Report"));
    this.result = h("p", { id: "report-result", class: "note", role: "status" });
    fill(body, this.form, this.result);
  }

  rosterChanged() {
    const select = this.form.elements.player;
    const chosen = select.value;
    const others = [...this.app.world.players.values()].filter((p) => p.id !== this.app.playerId());
    const options = others.map((p) => h("option", { value: p.id }, p.name));
    if (options.length === select.options.length && others.every((p, i) => select.options[i].value === p.id)) return;
    fill(select, options);
    if (others.some((p) => p.id === chosen)) select.value = chosen;
  }

  prepare(playerId) {
    this.rosterChanged();
    this.form.elements.player.value = playerId;
    this.body.parentElement.open = true;
    this.form.elements.text.focus();
  }

  async send(event) {
    event.preventDefault();
    const { player, category, text } = this.form.elements;
    const frame = { type: "report", playerId: player.value, category: category.value };
    if (text.value.trim()) frame.text = text.value.trim();
    try {
      await this.app.socket.call(frame);
      this.result.className = "note success";
      this.result.textContent = "Thank you: the staff will look at it.";
      text.value = "";
    } catch (error) {
      this.result.className = "note error";
      this.result.textContent = error.message;
    }
  }
}
