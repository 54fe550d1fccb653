// The room on a canvas: penguins at their positions, moved smoothly between `moves`
// batches; click to walk. Positions are world units (the rooms of clubpengu/data/rooms.json
// are 1520 × 960, origin top left); the server's position always wins.
import { drawPenguin } from "./penguin.js";

const DEFAULT_SIZE = { width: 1520, height: 960 };
const WALK_SPEED = 280; // units a second: under every built-in room's speed limit
const SEND_EVERY_MS = 100; // 10 moves a second at most, under MOVE_RATE (20/s)
const GLIDE_MS = 110; // a batch comes every tick (100 ms at 10 Hz): glide over about that
const BUBBLE_MS = 5000;
const SENT_REMEMBERED = 12;

function hue(text) {
  let hash = 7;
  for (const char of text) hash = (hash * 33 + char.charCodeAt(0)) >>> 0;
  return hash % 360;
}

export class World {
  /** onMove(x, y) sends a move; onChange() tells the page the roster changed. */
  constructor(canvas, { onMove, onChange }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onMove = onMove;
    this.onChange = onChange;
    this.players = new Map();
    this.me = null;
    this.room = null;
    this.size = { ...DEFAULT_SIZE };
    this.sent = [];
    this.lastSent = null;
    canvas.addEventListener("click", (event) => this.clicked(event));
    new ResizeObserver(() => this.resize()).observe(canvas);
    setInterval(() => this.sendPosition(), SEND_EVERY_MS);
    requestAnimationFrame((now) => this.frame(now));
  }

  // --- the room's state, from the protocol ---------------------------------------------

  enter(room, players, myId) {
    this.room = room;
    this.roomName = null;
    this.players.clear();
    this.size = { ...DEFAULT_SIZE };
    for (const player of players) this.add(player);
    this.me = this.players.get(myId) ?? null;
    this.sent = [];
    this.lastSent = this.me ? { x: this.me.x, y: this.me.y } : null;
    this.onChange();
  }

  add(player) {
    this.grow(player.x, player.y);
    this.players.set(player.playerId, {
      id: player.playerId, name: player.username, look: player.customization ?? {},
      wallet: player.walletAddress, x: player.x, y: player.y, serverX: player.x, serverY: player.y,
      glide: null, target: null, bubble: null, bubbleUntil: 0,
      puffle: player.puffle ?? null, match: player.match ?? null,
    });
    this.onChange();
  }

  /** A field the server adds to `<player>` changed: its walking `puffle`, its `match`. */
  setExtra(playerId, key, value) {
    const player = this.players.get(playerId);
    if (!player) return;
    player[key] = value ?? null;
    this.onChange();
  }

  byWallet(wallet) {
    for (const player of this.players.values()) if (player.wallet === wallet) return player;
    return null;
  }

  remove(playerId) {
    this.players.delete(playerId);
    this.onChange();
  }

  setLook(playerId, look) {
    const player = this.players.get(playerId);
    if (player) player.look = look;
    this.onChange();
  }

  say(playerId, text) {
    const player = this.players.get(playerId);
    if (!player) return;
    player.bubble = text;
    player.bubbleUntil = performance.now() + BUBBLE_MS;
  }

  applyMoves(moves) {
    const now = performance.now();
    for (const { playerId, x, y } of moves) {
      const player = this.players.get(playerId);
      if (!player) continue;
      this.grow(x, y);
      player.serverX = x;
      player.serverY = y;
      if (player === this.me) this.reconcile(x, y);
      else player.glide = { fromX: player.x, fromY: player.y, toX: x, toY: y, start: now };
    }
    this.onChange();
  }

  /** A batch carries one of the positions this page sent (maybe not the latest); anything
   * else was clamped by the server, and the penguin snaps to it. */
  reconcile(x, y) {
    const ours = this.sent.some((p) => Math.abs(p.x - x) < 1 && Math.abs(p.y - y) < 1);
    if (!ours) {
      this.me.x = x;
      this.me.y = y;
      this.me.target = null;
      this.lastSent = { x, y };
    }
  }

  grow(x, y) {
    this.size.width = Math.max(this.size.width, x);
    this.size.height = Math.max(this.size.height, y);
  }

  // --- walking --------------------------------------------------------------------------

  clicked(event) {
    if (!this.me) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * this.size.width;
    const y = ((event.clientY - rect.top) / rect.height) * this.size.height;
    this.walkTo(x, y);
  }

  walkTo(x, y) {
    if (!this.me) return;
    this.me.target = {
      x: Math.min(Math.max(x, 0), this.size.width),
      y: Math.min(Math.max(y, 0), this.size.height),
    };
  }

  /** Advance the walk to `now`; called by the animation frame and by the move timer,
   * so a page whose frames are throttled (a background tab) still walks. */
  step(now) {
    const dt = Math.min((now - (this.lastStep ?? now)) / 1000, 0.25);
    this.lastStep = now;
    const me = this.me;
    if (!me?.target) return;
    const dx = me.target.x - me.x;
    const dy = me.target.y - me.y;
    const distance = Math.hypot(dx, dy);
    const reach = WALK_SPEED * dt;
    if (distance <= reach) {
      me.x = me.target.x;
      me.y = me.target.y;
      me.target = null;
    } else {
      me.x += (dx / distance) * reach;
      me.y += (dy / distance) * reach;
    }
  }

  sendPosition() {
    this.step(performance.now());
    const me = this.me;
    if (!me || !this.lastSent) return;
    const x = Math.round(me.x * 10) / 10;
    const y = Math.round(me.y * 10) / 10;
    if (x === this.lastSent.x && y === this.lastSent.y) return;
    if (!this.onMove(x, y)) return;
    this.lastSent = { x, y };
    this.sent.push({ x, y });
    if (this.sent.length > SENT_REMEMBERED) this.sent.shift();
  }

  // --- drawing --------------------------------------------------------------------------

  resize() {
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.canvas.clientWidth * ratio);
    this.canvas.height = Math.round(this.canvas.clientHeight * ratio);
  }

  frame(now) {
    this.step(now);
    for (const player of this.players.values()) {
      if (player === this.me || !player.glide) continue;
      const g = player.glide;
      const t = Math.min((now - g.start) / GLIDE_MS, 1);
      player.x = g.fromX + (g.toX - g.fromX) * t;
      player.y = g.fromY + (g.toY - g.fromY) * t;
      if (t >= 1) player.glide = null;
    }
    this.draw(now);
    requestAnimationFrame((next) => this.frame(next));
  }

  draw(now) {
    const { ctx, canvas } = this;
    const sx = canvas.width / this.size.width;
    const sy = canvas.height / this.size.height;
    this.drawRoom(sx, sy);
    const ordered = [...this.players.values()].sort((a, b) => a.y - b.y);
    for (const player of ordered) {
      const bubble = player.bubbleUntil > now ? player.bubble : null;
      drawPenguin(ctx, {
        x: player.x * sx, y: player.y * sy, s: Math.min(sx, sy) * 1.5,
        look: player.look, name: player.name, me: player === this.me, bubble, puffle: player.puffle,
      });
    }
    if (this.me?.target) {
      ctx.strokeStyle = "rgba(20,60,140,0.5)";
      ctx.beginPath();
      ctx.ellipse(this.me.target.x * sx, this.me.target.y * sy, 10 * sx, 4 * sy, 0, 0, Math.PI * 2);
      ctx.stroke();
    }
  }

  drawRoom(sx, sy) {
    const { ctx, canvas } = this;
    const tint = hue(this.room ?? "town");
    const sky = ctx.createLinearGradient(0, 0, 0, canvas.height);
    sky.addColorStop(0, `hsl(${tint} 55% 82%)`);
    sky.addColorStop(0.35, `hsl(${tint} 45% 92%)`);
    sky.addColorStop(0.36, "#f4f8fb");
    sky.addColorStop(1, "#dde8f0");
    ctx.fillStyle = sky;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "rgba(255,255,255,0.8)";
    for (const [x, y, r] of [[220, 360, 140], [760, 350, 220], [1300, 365, 160]]) {
      ctx.beginPath();
      ctx.ellipse(x * sx, y * sy, r * sx, (r / 3) * sy, 0, Math.PI, 0);
      ctx.fill();
    }
    ctx.fillStyle = `hsl(${tint} 30% 40% / 0.25)`;
    ctx.font = `bold ${Math.round(64 * sy)}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    // "Town", or "Town ~2" for a later instance; the id until the room list names it.
    const suffix = this.roomName && this.room?.includes("~") ? ` ${this.room.slice(this.room.indexOf("~"))}` : "";
    ctx.fillText(`${this.roomName ?? this.room ?? ""}${suffix}`, 30 * sx, 24 * sy);
  }
}
