// Drawing a penguin on a canvas: a body in the player's colour, a white belly, eyes, beak
// and feet, whatever they wear, the name below and a chat bubble above.

const COLOURS = {
  blue: "#2f6fde", red: "#d8342c", green: "#2e9e48", yellow: "#f2c230", pink: "#ef7fb5",
  black: "#2b2b2b", purple: "#7b4bc4", orange: "#f08a24", arctic_white: "#e9f1f7", gray: "#8a939c",
};

/** A stable colour for an item id, for items drawn generically. */
function itemColour(id) {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 48%)`;
}

function ellipse(ctx, x, y, rx, ry, fill) {
  ctx.beginPath();
  ctx.ellipse(x, y, rx, ry, 0, 0, Math.PI * 2);
  ctx.fillStyle = fill;
  ctx.fill();
}

function drawHead(ctx, id, s) {
  ctx.fillStyle = itemColour(id);
  ctx.beginPath();
  if (id === "party_hat") {
    ctx.moveTo(-9 * s, -36 * s);
    ctx.lineTo(0, -58 * s);
    ctx.lineTo(9 * s, -36 * s);
  } else if (id === "crown") {
    ctx.fillStyle = "#f5c400";
    ctx.moveTo(-11 * s, -36 * s);
    for (const [x, y] of [[-11, -48], [-5, -41], [0, -50], [5, -41], [11, -48], [11, -36]]) ctx.lineTo(x * s, y * s);
  } else {
    ctx.ellipse(0, -37 * s, 13 * s, 8 * s, 0, Math.PI, 0);
  }
  ctx.closePath();
  ctx.fill();
}

function drawWorn(ctx, look, s) {
  if (look.mount && look.mount !== "none") {
    ctx.fillStyle = itemColour(look.mount);
    ctx.fillRect(-24 * s, 24 * s, 48 * s, 6 * s);
  }
  if (look.feet) ellipse(ctx, 0, 25 * s, 16 * s, 4 * s, itemColour(look.feet));
  if (look.body) {
    ctx.fillStyle = itemColour(look.body);
    ctx.fillRect(-15 * s, -4 * s, 30 * s, 18 * s);
  }
  if (look.neck) {
    ctx.fillStyle = itemColour(look.neck);
    ctx.fillRect(-13 * s, -14 * s, 26 * s, 5 * s);
  }
  if (look.face) {
    ctx.fillStyle = itemColour(look.face);
    ctx.fillRect(-11 * s, -29 * s, 22 * s, 5 * s);
  }
  if (look.hand) {
    ctx.fillStyle = itemColour(look.hand);
    ctx.fillRect(18 * s, -12 * s, 4 * s, 26 * s);
  }
  if (look.pin) ellipse(ctx, -8 * s, 0, 3 * s, 3 * s, itemColour(look.pin));
  if (look.head) drawHead(ctx, look.head, s);
}

/** Draw at (x, y) in canvas pixels (the feet), scale `s`. */
export function drawPenguin(ctx, { x, y, s, look, name, me, bubble, puffle }) {
  ctx.save();
  ctx.translate(x, y - 28 * s);
  ellipse(ctx, 0, 30 * s, 20 * s, 5 * s, "rgba(0,0,0,0.18)"); // shadow
  ellipse(ctx, -8 * s, 27 * s, 7 * s, 3.5 * s, "#f29b1d"); // feet
  ellipse(ctx, 8 * s, 27 * s, 7 * s, 3.5 * s, "#f29b1d");
  ellipse(ctx, 0, 0, 19 * s, 28 * s, COLOURS[look.color] ?? COLOURS.blue); // body
  ellipse(ctx, 0, 6 * s, 12 * s, 19 * s, "#fbfbf8"); // belly
  ellipse(ctx, 0, -19 * s, 13 * s, 11 * s, COLOURS[look.color] ?? COLOURS.blue); // head
  ellipse(ctx, -5 * s, -21 * s, 4 * s, 4.5 * s, "#fff");
  ellipse(ctx, 5 * s, -21 * s, 4 * s, 4.5 * s, "#fff");
  ellipse(ctx, -4.5 * s, -20.5 * s, 2 * s, 2.4 * s, "#111");
  ellipse(ctx, 5.5 * s, -20.5 * s, 2 * s, 2.4 * s, "#111");
  ctx.beginPath(); // beak
  ctx.moveTo(-4 * s, -15 * s);
  ctx.lineTo(4 * s, -15 * s);
  ctx.lineTo(0, -10 * s);
  ctx.closePath();
  ctx.fillStyle = "#f29b1d";
  ctx.fill();
  drawWorn(ctx, look, s);
  ctx.restore();
  if (puffle) drawPuffle(ctx, x + 30 * s, y - 6 * s, s, puffle.color);
  drawName(ctx, x, y + 16 * s, name, me, s);
  if (bubble) drawBubble(ctx, x, y - 70 * s, bubble, s);
}

const PUFFLE_COLOURS = {
  blue: "#3b6fd8", red: "#d83b3b", green: "#3fae4a", pink: "#f08fc0", black: "#222",
  purple: "#8a4fd0", yellow: "#f2d03b", white: "#f4f4f4", orange: "#f2902b", brown: "#8a5a2b",
  gold: "#d8b43b", rainbow: "#c04fd0",
};

/** A walking puffle: a fluffy ball with eyes beside its owner. */
function drawPuffle(ctx, x, y, s, color) {
  ellipse(ctx, x, y + 7 * s, 9 * s, 2.5 * s, "rgba(0,0,0,0.15)");
  ellipse(ctx, x, y, 9 * s, 8 * s, PUFFLE_COLOURS[color] ?? "#888");
  ellipse(ctx, x - 3 * s, y - 2 * s, 2.2 * s, 2.6 * s, "#fff");
  ellipse(ctx, x + 3 * s, y - 2 * s, 2.2 * s, 2.6 * s, "#fff");
  ellipse(ctx, x - 3 * s, y - 1.6 * s, 1.1 * s, 1.4 * s, "#111");
  ellipse(ctx, x + 3 * s, y - 1.6 * s, 1.1 * s, 1.4 * s, "#111");
}

function drawName(ctx, x, y, name, me, s) {
  ctx.font = `${me ? "bold " : ""}${Math.max(11, 13 * s)}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const width = ctx.measureText(name).width + 10;
  ctx.fillStyle = me ? "rgba(20,60,140,0.85)" : "rgba(255,255,255,0.85)";
  ctx.fillRect(x - width / 2, y, width, Math.max(15, 17 * s));
  ctx.fillStyle = me ? "#fff" : "#1b2a3a";
  ctx.fillText(name, x, y + 2);
}

function drawBubble(ctx, x, y, text, s) {
  ctx.font = `${Math.max(12, 14 * s)}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  const shown = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  const width = Math.min(ctx.measureText(shown).width + 18, 360);
  const height = Math.max(22, 26 * s);
  ctx.fillStyle = "#fff";
  ctx.strokeStyle = "#8aa2b8";
  ctx.beginPath();
  ctx.roundRect(x - width / 2, y - height, width, height, 9);
  ctx.moveTo(x - 6, y);
  ctx.lineTo(x, y + 8);
  ctx.lineTo(x + 6, y);
  ctx.fill();
  ctx.stroke();
  ctx.fillStyle = "#1b2a3a";
  ctx.fillText(shown, x, y - height / 2, width - 10);
}
