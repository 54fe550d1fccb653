// The playground: sign in (Phantom, or a development key outside production), join the
// town, walk, chat, emote, switch rooms, shop, and every other part of the game in panels
// (panels.js says how to add one). It speaks only docs/protocol.md, so it is also a
// reference client. The token and any key stay in this module's memory.
import { $, fill, h } from "../shared/dom.js";
import { clientConfig, devKeySigner, phantomProvider, phantomSigner, shortWallet } from "../shared/wallet.js";
import { BuddiesPanel } from "./buddies.js";
import { FramePane } from "./frames.js";
import { LeaderboardsPanel } from "./leaderboards.js";
import { MatchesPanel } from "./matches.js";
import { Migration } from "./migration.js";
import { GameSocket } from "./net.js";
import { Panels } from "./panels.js";
import { PromoPanel } from "./promo.js";
import { Prompts } from "./prompts.js";
import { PufflesPanel } from "./puffles.js";
import { ReportsPanel } from "./reports.js";
import { RoomSwitcher } from "./rooms.js";
import { Roster } from "./roster.js";
import { Shop } from "./shop.js";
import { StampBook } from "./stamps.js";
import { StatsPanel } from "./stats.js";
import { World } from "./world.js";

const CLIENT_VERSION = "play-2";
const EMOTES = ["wave", "dance", "laugh", "heart", "smile", "wink", "snowball", "coffee", "pizza", "joke"];
const CHAT_KEPT = 100;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];

const state = { signer: null, token: null, user: null, playerId: null, room: null, reconnects: 0, signingIn: false };
let frames = null;
const socket = new GameSocket({ onFrame: (direction, frame, meta) => frames.log(direction, frame, meta), onClose: closed });
frames = new FramePane($("#protocol"), socket);
const world = new World($("#room"), {
  onMove: (x, y) => socket.send({ type: "move", x, y }),
  onChange: () => rosterChanged(),
});
const rooms = new RoomSwitcher($("#rooms"), socket, {
  go: changeRoom,
  named: (name) => {
    world.roomName = name;
  },
});
const shop = new Shop($("#shop"), socket, {
  me: () => ({ user: state.user, look: state.user?.customization ?? {} }),
  onLook: (look) => {
    state.user.customization = look;
    world.setLook(state.playerId, look);
  },
  onCoins: setCoins,
  say,
});

// What the panels see of the page.
const app = {
  socket, world, shop, say, setCoins,
  prompts: new Prompts($("#prompts")),
  me: () => state.user,
  playerId: () => state.playerId,
  nameOf,
  rosterChanged,
  /** change_room that throws the server's refusal (room_full, …) to the caller. */
  changeRoom: async (room) => enterRoom(await socket.call({ type: "change_room", room })),
  setInventory(itemId, count) {
    if (!state.user || !itemId) return;
    state.user.inventory = { ...state.user.inventory, [itemId]: count };
    shop.render();
  },
  gotItems(items) {
    for (const id of items ?? []) {
      const item = shop.items.find((i) => i.id === id);
      const list = item?.type === "mount" ? state.user.unlockedMounts : state.user.unlockedCosmetics;
      if (list && !list.includes(id)) list.push(id);
    }
    shop.render();
  },
  migrated(reply) {
    const accepted = reply.accepted ?? {};
    if (reply.status !== "applied" || !state.user) return;
    if (accepted.username) showMe({ ...state.user, username: accepted.username });
    if (accepted.customization) shop.onLook({ ...state.user.customization, ...accepted.customization });
    for (const id of accepted.unlockedCosmetics ?? []) app.gotItems([id]);
    for (const id of accepted.unlockedMounts ?? []) app.gotItems([id]);
  },
};
const panels = new Panels($("#side"), app);
const roster = new Roster(app, $("#players"));
// The side panels, in order; the rewards, stamps and leaderboards go here too.
app.buddies = panels.add(BuddiesPanel, "buddies", "Buddies");
app.matches = panels.add(MatchesPanel, "games", "Games", $("#match"));
app.puffles = panels.add(PufflesPanel, "puffles", "Puffles");
app.promo = panels.add(PromoPanel, "promo", "Promo code");
app.reports = panels.add(ReportsPanel, "report", "Report a player");
app.stats = panels.add(StatsPanel, "stats", "Your stats");
app.stamps = panels.add(StampBook, "stamps", "Stamp book");
app.leaderboards = panels.add(LeaderboardsPanel, "leaderboards", "Leaderboards");
panels.attach(new Migration(app));

function rosterChanged() {
  roster.render();
  panels.tell("rosterChanged");
}

function say(text) {
  $("#status").textContent = text;
}

function setCoins(balance) {
  if (!state.user) return;
  state.user.coins = balance;
  $("#coins").textContent = String(balance);
  shop.render();
  app.puffles?.render();
}

function showMe(user) {
  state.user = user;
  $("#me-name").textContent = `${user.username} (${shortWallet(user.walletAddress)})`;
  $("#me-name").dataset.wallet = user.walletAddress;
}

// --- signing in ---------------------------------------------------------------------------

async function boot() {
  const config = await clientConfig();
  if (phantomProvider()) $("#sign-in-phantom").hidden = false;
  if (config.devKeys) $("#sign-in-dev").hidden = false;
  else $("#sign-in-note").textContent = config.devKeysRefusal;
  if (!phantomProvider() && !config.devKeys) {
    $("#sign-in-note").textContent += " Phantom was not found in this browser.";
  }
  $("#sign-in-phantom").addEventListener("click", () => signIn(phantomSigner));
  $("#sign-in-dev").addEventListener("click", () => signIn(devKeySigner));
  $("#sign-out").addEventListener("click", signOut);
  $("#chat-form").addEventListener("submit", sendChat);
  fill($("#emotes"), EMOTES.map((emote) =>
    h("button", { class: "emote", dataset: { emote }, onclick: () => sendEmote(emote) }, emote)));
}

async function signIn(makeSigner) {
  if (state.signingIn) return; // a double click signs in once
  state.signingIn = true;
  try {
    say("Signing in…");
    state.signer = await makeSigner();
    if (!socket.isOpen) await socket.open();
    const challenge = await socket.call({ type: "auth_request", walletAddress: state.signer.address });
    const signature = await state.signer.sign(challenge.nonce);
    const success = await socket.call({ type: "auth_verify", walletAddress: state.signer.address, signature });
    state.token = success.token;
    state.user = success.user;
    panels.tell("signedIn", success);
    enterRoom(await socket.call({ type: "join", clientVersion: CLIENT_VERSION }));
    await shop.load();
  } catch (error) {
    say(`Sign-in failed: ${error.message}`);
  } finally {
    state.signingIn = false;
  }
}

function signOut() {
  socket.send({ type: "logout" });
  state.token = null;
}

function enterRoom(joined) {
  state.playerId = joined.playerId;
  state.room = joined.room;
  state.user = joined.user;
  state.reconnects = 0;
  world.enter(joined.room, joined.players, joined.playerId);
  document.body.classList.add("in-game");
  $("#sign-out").hidden = false;
  showMe(joined.user);
  $("#room-name").textContent = joined.room;
  setCoins(joined.user.coins);
  rooms.setCurrent(joined.room);
  say(`In ${joined.room}: click the room to walk`);
  panels.tell("entered", joined);
}

async function changeRoom(room) {
  try {
    enterRoom(await socket.call({ type: "change_room", room }));
  } catch (error) {
    say(error.message);
  }
}

// --- the connection ends --------------------------------------------------------------------

function closed(event) {
  state.playerId = null;
  world.enter(null, [], null);
  if (event.code === 4001) return signedOut("Signed in somewhere else: this page was replaced.");
  if (event.code === 4003) return signedOut("Your session ended: sign in again.");
  if (event.code === 1000 || !state.token) return signedOut("Signed out.");
  const delay = RECONNECT_DELAYS_MS[Math.min(state.reconnects++, RECONNECT_DELAYS_MS.length - 1)];
  say(`Connection lost; reconnecting in ${delay / 1000} s…`);
  setTimeout(reconnect, delay);
}

async function reconnect() {
  try {
    await socket.open();
    enterRoom(await socket.call({ type: "join", token: state.token, clientVersion: CLIENT_VERSION }));
  } catch (error) {
    if (error.code === "not_authenticated") signedOut("Your session ended: sign in again.");
  }
}

function signedOut(text) {
  state.token = null;
  state.user = null;
  document.body.classList.remove("in-game");
  $("#sign-out").hidden = true;
  $("#me-name").textContent = "";
  delete $("#me-name").dataset.wallet;
  $("#coins").textContent = "–";
  app.prompts.clear();
  panels.tell("signedOut");
  say(text);
}

// --- what the room says ---------------------------------------------------------------------

function sendChat(event) {
  event.preventDefault();
  const input = $("#chat-text");
  const text = input.value.trim();
  if (!text) return;
  socket.call({ type: "chat", text }).then(() => { input.value = ""; }, (error) => say(error.message));
}

function sendEmote(emote) {
  socket.call({ type: "emote", emote }).catch((error) => say(error.message));
}

function logChat(name, text, kind) {
  const log = $("#chat-log");
  log.append(h("li", { class: kind }, h("b", {}, name), " ", text));
  while (log.children.length > CHAT_KEPT) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

function nameOf(playerId) {
  return world.players.get(playerId)?.name ?? "someone";
}

socket.on("player_joined", (frame) => world.add(frame.player));
socket.on("player_left", (frame) => world.remove(frame.playerId));
socket.on("moves", (frame) => {
  if (frame.room === state.room) world.applyMoves(frame.moves);
});
socket.on("player_look", (frame) => world.setLook(frame.playerId, frame.customization));
socket.on("chat", (frame) => {
  world.say(frame.playerId, frame.text);
  logChat(frame.username, frame.text, "chat");
});
socket.on("emote", (frame) => {
  world.say(frame.playerId, `*${frame.emote}*`);
  logChat(nameOf(frame.playerId), `*${frame.emote}*`, "emote");
});
socket.on("coins", (frame) => {
  setCoins(frame.coins);
  say(`${frame.delta > 0 ? "+" : ""}${frame.delta} coins (${frame.reason})`);
});
socket.on("kicked", () => say("Signed in somewhere else."));
socket.on("error", (frame) => say(frame.message));

boot().catch((error) => say(`Cannot start: ${error.message}`));
