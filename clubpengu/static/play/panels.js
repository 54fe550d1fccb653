// The side panels of the playground. A panel is a class whose constructor takes the page's
// `app` (see main.js) and a body element to fill; it may define any of
//   signedIn(success)  after auth_success (before join)
//   entered(joined)    after every joined (join, change_room, reconnect)
//   rosterChanged()    when the room's players changed
//   signedOut()        when the page is signed out
// and subscribe to pushes with app.socket.on(type, fn). To add one: a module under
// static/play/, and one line in main.js's PANELS.
import { h } from "../shared/dom.js";

export class Panels {
  constructor(side, app) {
    this.side = side;
    this.app = app;
    this.list = [];
  }

  /** Mount `Panel` in a new <details id=id> section titled `title`; `extra` goes to its
   * constructor after (app, body). Returns the panel. */
  add(Panel, id, title, ...extra) {
    const body = h("div", { class: "panel-body" });
    this.side.append(h("details", { id, class: "panel", open: true }, h("summary", {}, title), body));
    const panel = new Panel(this.app, body, ...extra);
    this.list.push(panel);
    return panel;
  }

  /** A part with hooks but no panel of its own (the migration prompt). */
  attach(part) {
    this.list.push(part);
    return part;
  }

  /** Call `hook` on every panel that has it; one panel's failure does not stop the others. */
  tell(hook, ...args) {
    for (const panel of this.list) {
      if (typeof panel[hook] !== "function") continue;
      try {
        const result = panel[hook](...args);
        if (result instanceof Promise) result.catch((error) => this.app.say(error.message));
      } catch (error) {
        this.app.say(error.message);
      }
    }
  }
}
