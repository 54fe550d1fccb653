// The WebSocket client: JSON frames of docs/protocol.md, `rid`-matched replies, pushes by
// type, and a log of every frame in and out for the protocol pane.

const REPLY_TIMEOUT_MS = 10000;

export class ProtocolError extends Error {
  constructor(frame) {
    super(frame.message ?? frame.error ?? frame.code ?? "error");
    this.code = frame.code ?? frame.error;
    this.frame = frame;
  }
}

export class GameSocket {
  /** onFrame(direction "in"|"out", frame) sees every frame; onClose(event) the end. */
  constructor({ onFrame, onClose }) {
    this.onFrame = onFrame;
    this.onClose = onClose;
    this.handlers = new Map(); // push type -> [fn]
    this.pending = new Map(); // rid -> {resolve, reject, timer}
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
  send(frame) {
    if (!this.isOpen) return false;
    this.onFrame("out", frame);
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Send with a fresh rid and resolve with the reply carrying it; error and
   * auth_failure replies reject with a ProtocolError. */
  call(frame) {
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`No answer to ${frame.type}`));
      }, REPLY_TIMEOUT_MS);
      this.pending.set(rid, { resolve, reject, timer });
      if (!this.send({ ...frame, rid })) {
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
    this.onFrame("in", frame);
    const waiting = frame.rid !== undefined ? this.pending.get(frame.rid) : undefined;
    if (waiting) {
      this.pending.delete(frame.rid);
      clearTimeout(waiting.timer);
      if (frame.type === "error" || frame.type === "auth_failure") waiting.reject(new ProtocolError(frame));
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
    this.onClose(event);
  }

  /** Leave at once: 1000 tells the server this is no network drop. */
  close() {
    this.ws?.close(1000);
  }
}
