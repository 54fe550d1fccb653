// The protocol pane: every frame in and out, newest last. Tokens are shown as
// "<redacted>" so a screenshot or a screen share does not leak a session.
import { h } from "../shared/dom.js";

const KEEP = 400;

export class FramePane {
  constructor(list, showMoves) {
    this.list = list;
    this.count = 0;
    showMoves.addEventListener("change", () => list.classList.toggle("hide-moves", !showMoves.checked));
  }

  log(direction, frame) {
    const shown = "token" in frame ? { ...frame, token: "<redacted>" } : frame;
    const text = JSON.stringify(shown);
    const item = h(
      "li",
      { class: `frame ${direction} type-${frame.type}`, dataset: { direction, type: frame.type } },
      h("span", { class: "arrow" }, direction === "out" ? "→" : "←"),
      h("code", {}, text.length > 600 ? `${text.slice(0, 600)}…` : text),
    );
    const stick = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    this.list.append(item);
    if (++this.count > KEEP) {
      this.list.firstElementChild?.remove();
      this.count--;
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  clear() {
    this.list.replaceChildren();
    this.count = 0;
  }
}
