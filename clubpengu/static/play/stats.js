// The player's counters (protocol §5): `get_stats` on demand, shown as "group.name value".
import { fill, h } from "../shared/dom.js";

function flatten(stats, prefix = "") {
  return Object.entries(stats).flatMap(([key, value]) =>
    value !== null && typeof value === "object" ? flatten(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]]);
}

export class StatsPanel {
  constructor(app, body) {
    this.app = app;
    this.list = h("dl", { id: "stats-list", class: "stats-list" });
    fill(body, h("button", { type: "button", id: "load-stats", class: "secondary", onclick: () => this.load() },
      "Refresh"), this.list);
  }

  async load() {
    try {
      const reply = await this.app.socket.call({ type: "get_stats" });
      fill(this.list, flatten(reply.stats).map(([name, value]) =>
        h("div", { dataset: { stat: name } }, h("dt", {}, name), h("dd", {}, String(value)))));
    } catch (error) {
      this.app.say(error.message);
    }
  }

  signedOut() {
    fill(this.list);
  }
}
