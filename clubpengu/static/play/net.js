// The WebSocket client: JSON frames of docs/protocol.md, `rid`-matched replies, pushes by
// type, and a log of every frame in and out for the protocol pane, with the latency of each
// reply (the time since the frame with its rid went out) and whether it was quiet (sent by
// a timer, such as the room list's refresh, rather than by the player).

const REPLY_TIMEOUT_MS = 10000;

export class ProtocolError extends Error {
  constructor(frame) {
    super(frame.message ?? frame.error ?? frame.code ?? "error");
    this.code = frame.code ?? frame.error;
    this.frame = frame;
  }
}

export class GameSocket {
  /** onFrame(direction "in"|"out", frame, {latency, quiet}) sees every frame; onClose(event)
   * the end. */
  constructor({ onFrame, onClose }) {
    this.onFrame = onFrame;
    this.onClose = onClose;
    this.handlers = new Map(); // push type -> [fn]
    this.pending = new Map(); // rid -> {resolve, reject, timer}
    this.sentAt = new Map(); // rid -> {at, quiet}: for the latency of its reply
    this.nextRid = 1;
    this.ws = null;
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(`${scheme}//${location.host}/ws`);
    return new Promise((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve(), { once: true });
      this.ws.addEventListener("error", () => reject(new Error("Cannot reach the server")), { once: true });
      this.ws.addEventListener("message", (event) => this.receive(event.data));
      this.ws.addEventListener("close", (event) => this.closed(event));
    });
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  }

  /** Fire and forget (move, chat and emote have no reply of their own). */
  send(frame, { quiet = false } = {}) {
    if (!this.isOpen) return false;
    if (frame.rid !== undefined) this.sentAt.set(frame.rid, { at: performance.now(), quiet });
    this.onFrame("out", frame, { quiet });
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Send with a fresh rid and resolve with the reply carrying it; error and
   * auth_failure replies reject with a ProtocolError. `quiet` marks a timer's call. */
  call(frame, { quiet = false } = {}) {
    return this.request({ ...frame, rid: this.nextRid++ }, { quiet, reject: true });
  }

  /** Send any frame (the pane's send box): a frame without rid gets the next one; resolves
   * with the reply carrying it, an error reply included. */
  raw(frame) {
    const rid = frame.rid ?? this.nextRid++;
    return this.request({ ...frame, rid }, { quiet: false, reject: false });
  }

  request(frame, { quiet, reject: rejectErrors }) {
    const { rid } = frame;
    return new Promise((resolve, reject) => {
      if (this.pending.has(rid)) {
        reject(new Error(`rid ${JSON.stringify(rid)} is still waiting for its reply`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        this.sentAt.delete(rid);
        reject(new Error(`No answer to ${frame.type}`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(rid, { resolve, reject, timer, rejectErrors });
      if (!this.send(frame, { quiet })) {
        clearTimeout(timer);
        this.pending.delete(rid);
        reject(new Error("Not connected"));
      }
    });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const sent = frame.rid !== undefined ? this.sentAt.get(frame.rid) : undefined;
    if (sent) this.sentAt.delete(frame.rid);
    this.onFrame("in", frame, { latency: sent ? performance.now() - sent.at : null, quiet: sent?.quiet ?? false });
    const waiting = frame.rid !== undefined ? this.pending.get(frame.rid) : undefined;
    if (waiting) {
      this.pending.delete(frame.rid);
      clearTimeout(waiting.timer);
      const failed = frame.type === "error" || frame.type === "auth_failure";
      if (failed && waiting.rejectErrors) waiting.reject(new ProtocolError(frame));
      else waiting.resolve(frame);
      return;
    }
    for (const handler of this.handlers.get(frame.type) ?? []) handler(frame);
  }

  closed(event) {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error("Connection closed"));
    }
    this.pending.clear();
    this.sentAt.clear();
    this.onClose(event);
  }

  /** Leave at once: 1000 tells the server this is no network drop. */
  close() {
    this.ws?.close(1000);
  }
}
