// The protocol pane: every frame in and out, newest last, each one line that expands to the
// whole frame (pretty-printed) and can be copied; a filter by type, a pause, the latency of
// each reply, and a box to send any frame. Tokens are shown (and copied) as "<redacted>" so
// a screenshot or a screen share does not leak a session.
//
// Quiet frames (sent by a timer, such as the room list's refresh every few seconds, and
// their replies) are hidden unless asked for, and a frame equal to the one just before it
// (its rid aside) adds "×n" to that line instead of a new one, so nothing floods the pane.
// Quiet frames have a budget of their own (the last few refreshes): hidden, they would
// otherwise fill the pane's KEEP lines in a quarter of an hour and push out every frame
// worth reading.
import { $, h } from "../shared/dom.js";

const KEEP = 400; // frames worth reading
const KEEP_QUIET = 20; // a timer's frames: its last ten requests and replies
const HELD_AT_MOST = 2000; // frames kept while paused; older ones are dropped, and counted

function redact(frame) {
  return "token" in frame ? { ...frame, token: "<redacted>" } : frame;
}

function withoutRid(frame) {
  const { rid, ...rest } = frame;
  return JSON.stringify(rest);
}

/** "match_ chat -moves": a type is shown when it contains one of the words (or there are
 * none) and none of the words after a "-". */
export function typeFilter(text) {
  const words = text.split(/[\s,]+/).filter(Boolean);
  const wanted = words.filter((w) => !w.startsWith("-"));
  const unwanted = words.filter((w) => w.startsWith("-") && w.length > 1).map((w) => w.slice(1));
  return (type) =>
    (wanted.length === 0 || wanted.some((w) => type.includes(w))) && !unwanted.some((w) => type.includes(w));
}

export class FramePane {
  /** root holds the pane's controls (see index.html: #frames, #show-moves, #show-quiet,
   * #frame-filter, #pause-frames, #clear-frames, #send-form); socket sends the box's frames. */
  constructor(root, socket) {
    this.list = $("#frames", root);
    this.socket = socket;
    this.count = 0;
    this.quietCount = 0;
    this.paused = false;
    this.held = [];
    this.dropped = 0;
    this.last = null; // {item, key}: the newest line, to fold repeats into
    this.shows = () => true;
    const showMoves = $("#show-moves", root);
    showMoves.addEventListener("change", () => this.list.classList.toggle("hide-moves", !showMoves.checked));
    const showQuiet = $("#show-quiet", root);
    showQuiet.addEventListener("change", () => this.list.classList.toggle("hide-quiet", !showQuiet.checked));
    this.list.classList.toggle("hide-quiet", !showQuiet.checked);
    const filter = $("#frame-filter", root);
    filter.addEventListener("input", () => this.filter(filter.value));
    this.pauseButton = $("#pause-frames", root);
    this.pauseButton.addEventListener("click", () => this.pause(!this.paused));
    $("#clear-frames", root).addEventListener("click", () => this.clear());
    this.sendForm = $("#send-form", root);
    this.sendForm.addEventListener("submit", (event) => this.sendBox(event));
  }

  log(direction, frame, { latency = null, quiet = false } = {}) {
    if (this.paused) {
      this.held.push([direction, frame, latency, quiet]);
      if (this.held.length > HELD_AT_MOST) {
        this.held.shift();
        this.dropped++;
      }
      this.pauseButton.textContent = `Resume (${this.held.length} held)`;
      return;
    }
    this.add(direction, frame, latency, quiet);
  }

  add(direction, frame, latency, quiet) {
    const shown = redact(frame);
    const type = String(frame.type ?? "?");
    const key = `${direction} ${quiet} ${withoutRid(shown)}`;
    if (this.last?.key === key && latency === null) {
      const times = Number(this.last.item.dataset.repeats ?? 1) + 1;
      this.last.item.dataset.repeats = String(times);
      $(".repeats", this.last.item).textContent = `×${times}`;
      return;
    }
    const text = JSON.stringify(shown);
    const item = h(
      "li",
      {
        class: `frame ${direction} type-${type}${quiet ? " quiet" : ""}`,
        dataset: { direction, type, latency: latency === null ? null : String(Math.round(latency)) },
        hidden: !this.shows(type),
      },
      h("span", { class: "arrow" }, direction === "out" ? "→" : "←"),
      h("button", {
        type: "button", class: "toggle", "aria-expanded": "false", title: "Show the whole frame",
        onclick: () => this.toggle(item, shown),
      }, h("code", { class: "line" }, text)),
      h("span", { class: "repeats" }),
      latency === null ? null : h("span", { class: "latency", title: "since the request with this rid" },
        `${Math.round(latency)} ms`),
      h("button", { type: "button", class: "copy secondary", title: "Copy the frame as JSON",
        onclick: () => this.copy(item, shown) }, "Copy"),
    );
    const stick = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    this.list.append(item);
    this.last = { item, key };
    if (quiet) {
      if (++this.quietCount > KEEP_QUIET) {
        $(".frame.quiet", this.list)?.remove();
        this.quietCount--;
      }
    } else if (++this.count > KEEP) {
      $(".frame:not(.quiet)", this.list)?.remove();
      this.count--;
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  toggle(item, shown) {
    const open = item.classList.toggle("open");
    $(".toggle", item).setAttribute("aria-expanded", String(open));
    const full = $("pre", item);
    if (open && !full) item.append(h("pre", { class: "full" }, JSON.stringify(shown, null, 2)));
    else if (!open && full) full.remove();
  }

  async copy(item, shown) {
    const text = JSON.stringify(shown, null, 2);
    const button = $(".copy", item);
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // No clipboard (an insecure origin, or permission refused): open it to select by hand.
      if (!item.classList.contains("open")) this.toggle(item, shown);
      button.textContent = "Select";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }

  filter(text) {
    this.shows = typeFilter(text);
    for (const item of this.list.children) item.hidden = !this.shows(item.dataset.type);
  }

  pause(paused) {
    this.paused = paused;
    this.pauseButton.setAttribute("aria-pressed", String(paused));
    if (paused) {
      this.pauseButton.textContent = "Resume (0 held)";
      return;
    }
    if (this.dropped) this.list.append(h("li", { class: "frame note" }, `${this.dropped} frames dropped while paused`));
    for (const [direction, frame, latency, quiet] of this.held) this.add(direction, frame, latency, quiet);
    this.held = [];
    this.dropped = 0;
    this.pauseButton.textContent = "Pause";
  }

  clear() {
    this.list.replaceChildren();
    this.count = 0;
    this.quietCount = 0;
    this.last = null;
  }

  /** The send box: any JSON object with a `type`; without a `rid` it gets the connection's
   * next one, and the reply carrying it is shown with its latency. */
  async sendBox(event) {
    event.preventDefault();
    const input = $("textarea", this.sendForm);
    const result = $("#send-result");
    let frame;
    try {
      frame = JSON.parse(input.value);
    } catch (error) {
      result.textContent = `Not JSON: ${error.message}`;
      return;
    }
    if (frame === null || typeof frame !== "object" || Array.isArray(frame) || typeof frame.type !== "string") {
      result.textContent = 'A frame is a JSON object with a string "type".';
      return;
    }
    if (!this.socket.isOpen) {
      result.textContent = "Not connected: sign in first.";
      return;
    }
    const started = performance.now();
    result.textContent = "Waiting for the reply…";
    try {
      const reply = await this.socket.raw(frame);
      const ms = Math.round(performance.now() - started);
      result.textContent = `rid ${JSON.stringify(reply.rid)}: ${reply.type}${reply.code ? ` ${reply.code}` : ""} in ${ms} ms`;
      result.dataset.replyType = reply.type;
    } catch (error) {
      result.textContent = error.message;
      delete result.dataset.replyType;
    }
  }
}
