// Buddies and ignoring (protocol §15): the list with who is online and in which room
// instance, kept current by the presence pushes; requests waiting for your answer (also
// asked above the room) with Accept and Decline; requests you sent, with Withdraw; "Go there" (find_buddy, then change_room to
// exactly the instance it names); asking by wallet. The roster's "Add buddy" and
// "Ignore"/"Unignore" come here. Ignored players' chat is filtered by the server, not here.
import { fill, h } from "../shared/dom.js";
import { shortWallet } from "../shared/wallet.js";

const byPresence = (a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username);

export class BuddiesPanel {
  constructor(app, body) {
    this.app = app;
    this.buddies = new Map(); // wallet -> <buddy> {walletAddress, username, online, room?}
    this.requests = new Map(); // wallet -> {walletAddress, username}: asking you
    this.sent = new Map(); // wallet -> {walletAddress, username}: you asked, no answer yet
    this.ignored = new Map(); // wallet -> {walletAddress, username}
    this.loadedOn = null; // the WebSocket the lists were read on: a new one reads them again
    this.list = h("ul", { id: "buddy-list", class: "plain buddies" });
    this.asking = h("ul", { id: "buddy-requests", class: "plain buddies" });
    this.asked = h("ul", { id: "buddy-sent", class: "plain buddies" });
    this.ignoring = h("ul", { id: "ignore-list", class: "plain buddies" });
    this.result = h("p", { id: "buddy-result", class: "note", role: "status" });
    this.form = h("form", { id: "buddy-form", class: "inline-form", onsubmit: (event) => this.askByWallet(event) },
      h("input", { name: "wallet", required: true, minlength: "32", maxlength: "44", autocomplete: "off",
        spellcheck: "false", placeholder: "A wallet address", "aria-label": "Wallet of the player to ask" }),
      h("button", { type: "submit" }, "Ask"));
    this.requestsHead = h("h3", { hidden: true }, "Asking you");
    this.sentHead = h("h3", { hidden: true }, "You asked");
    this.ignoredHead = h("h3", { hidden: true }, "Ignored");
    fill(body, this.list, this.requestsHead, this.asking, this.sentHead, this.asked, this.form, this.result,
      this.ignoredHead, this.ignoring);

    const on = (type, fn) => app.socket.on(type, fn);
    on("buddy_requested", (frame) => this.requested(frame.from));
    on("buddy_request_withdrawn", (frame) => this.withdrawnByThem(frame.walletAddress));
    on("buddy_added", (frame) => this.added(frame.buddy));
    on("buddy_removed", (frame) => this.removed(frame.walletAddress));
    on("buddy_online", (frame) => this.moved(frame.walletAddress, frame.room));
    on("buddy_moved", (frame) => this.moved(frame.walletAddress, frame.room));
    on("buddy_offline", (frame) => this.moved(frame.walletAddress, null));
  }

  // --- the page's hooks ------------------------------------------------------------------

  async entered() {
    const ws = this.app.socket.ws;
    if (ws !== this.loadedOn) {
      // A first join or a reconnect: pushes may have been missed, so read the lists again.
      this.loadedOn = ws;
      await this.load();
    }
    this.render(); // "here" and "Go there" depend on the room
  }

  signedOut() {
    this.loadedOn = null;
    this.buddies.clear();
    this.requests.clear();
    this.sent.clear();
    this.ignored.clear();
    this.note("");
    this.render();
  }

  async load() {
    const reply = await this.app.socket.call({ type: "buddies" });
    this.buddies = new Map(reply.buddies.map((b) => [b.walletAddress, b]));
    this.requests = new Map(reply.requests.map((r) => [r.walletAddress, r]));
    this.sent = new Map((reply.sent ?? []).map((r) => [r.walletAddress, r]));
    this.ignored = new Map((reply.ignored ?? []).map((i) => [i.walletAddress, i]));
    this.changed();
  }

  // --- what the roster asks ----------------------------------------------------------------

  isBuddy(wallet) {
    return this.buddies.has(wallet);
  }

  isIgnored(wallet) {
    return this.ignored.has(wallet);
  }

  /** The roster's "Add buddy". */
  ask(player) {
    return this.request({ walletAddress: player.wallet }, player.name);
  }

  /** The roster's "Ignore" / "Unignore". */
  async toggleIgnore(player) {
    const wallet = player.wallet;
    const ignoring = !this.ignored.has(wallet);
    try {
      await this.app.socket.call({ type: ignoring ? "ignore" : "unignore", walletAddress: wallet });
    } catch (error) {
      this.note(error.message, "error");
      return;
    }
    if (ignoring) {
      // The server ends a friendship and the requests between us; no push says so to me.
      this.ignored.set(wallet, { walletAddress: wallet, username: player.name });
      this.buddies.delete(wallet);
      this.requests.delete(wallet);
      this.sent.delete(wallet);
      this.app.prompts.remove(`buddy:${wallet}`);
      this.note(`You no longer see ${player.name}'s chat and emotes`, "success");
    } else {
      this.ignored.delete(wallet);
      this.note(`${player.name} is no longer ignored`, "success");
    }
    this.changed();
  }

  // --- asking and answering ------------------------------------------------------------------

  askByWallet(event) {
    event.preventDefault();
    const input = this.form.elements.wallet;
    const wallet = input.value.trim();
    this.request({ walletAddress: wallet }, shortWallet(wallet)).then((sent) => {
      if (sent) input.value = "";
    });
  }

  async request(frame, name) {
    try {
      const reply = await this.app.socket.call({ type: "buddy_request", ...frame });
      // They had asked me already: we are buddies at once.
      if (reply.type === "buddy_added") this.added(reply.buddy);
      else {
        this.note(`Asked ${name}; waiting for their answer`, "success");
        await this.load(); // the request, under the name the server knows
      }
      return true;
    } catch (error) {
      this.note(error.message, "error");
      return false;
    }
  }

  requested(from) {
    this.requests.set(from.walletAddress, from);
    this.changed();
    this.app.prompts.show({
      kind: "buddy", id: `buddy:${from.walletAddress}`, title: "A buddy request",
      text: `${from.username} asks to be your buddy.`,
      actions: [
        { label: "Accept", name: "accept", run: () => this.answer(from.walletAddress, true) },
        { label: "Decline", name: "decline", secondary: true, run: () => this.answer(from.walletAddress, false) },
      ],
    });
  }

  /** Accept or decline; throws the server's refusal (a prompt shows it on its card). */
  async answer(wallet, accept) {
    const reply = await this.app.socket.call({ type: accept ? "buddy_accept" : "buddy_decline", walletAddress: wallet });
    this.requests.delete(wallet);
    this.app.prompts.remove(`buddy:${wallet}`);
    if (accept) this.added(reply.buddy);
    else this.changed();
  }

  async answerHere(wallet, accept) {
    try {
      await this.answer(wallet, accept);
    } catch (error) {
      this.note(error.message, "error");
    }
  }

  async withdraw(request) {
    try {
      await this.app.socket.call({ type: "buddy_withdraw", walletAddress: request.walletAddress });
      this.note(`Your request to ${request.username} is withdrawn`);
    } catch (error) {
      this.note(error.message, "error"); // answered or expired meanwhile: the list says which
      await this.load();
      return;
    }
    this.sent.delete(request.walletAddress);
    this.changed();
  }

  async remove(buddy) {
    try {
      await this.app.socket.call({ type: "buddy_remove", walletAddress: buddy.walletAddress });
      this.removed(buddy.walletAddress);
      this.note(`${buddy.username} is no longer your buddy`);
    } catch (error) {
      this.note(error.message, "error");
    }
  }

  // --- the pushes ------------------------------------------------------------------------------

  added(buddy) {
    this.buddies.set(buddy.walletAddress, buddy);
    this.requests.delete(buddy.walletAddress);
    this.sent.delete(buddy.walletAddress);
    this.app.prompts.remove(`buddy:${buddy.walletAddress}`);
    this.note(`${buddy.username} is now your buddy`, "success");
    this.changed();
  }

  /** They took back the request they had sent me. */
  withdrawnByThem(wallet) {
    this.requests.delete(wallet);
    this.app.prompts.remove(`buddy:${wallet}`);
    this.changed();
  }

  removed(wallet) {
    this.buddies.delete(wallet);
    this.changed();
  }

  /** Online in `room`, or offline (room null). */
  moved(wallet, room) {
    const buddy = this.buddies.get(wallet);
    if (!buddy) return;
    buddy.online = room !== null && room !== undefined;
    if (buddy.online) buddy.room = room;
    else delete buddy.room;
    this.render();
  }

  // --- going there -------------------------------------------------------------------------------

  async go(buddy) {
    let found;
    try {
      found = await this.app.socket.call({ type: "find_buddy", walletAddress: buddy.walletAddress });
    } catch (error) {
      this.note(error.message, "error");
      return;
    }
    this.buddies.set(found.walletAddress, {
      walletAddress: found.walletAddress, username: found.username, online: found.online, room: found.room,
    });
    this.render();
    if (!found.follow) {
      this.note(`${found.username} is offline`, "error");
      return;
    }
    try {
      await this.app.changeRoom(found.follow);
      this.note(`You are in ${found.username}'s room`, "success");
    } catch (error) {
      if (error.code === "room_full") {
        this.note(`${found.username}'s room (${found.room}) is full: no seat for you there now`, "error");
      } else {
        this.note(error.message, "error");
      }
    }
  }

  // --- drawing --------------------------------------------------------------------------------

  changed() {
    this.render();
    this.app.rosterChanged(); // the roster's "Add buddy" and "Ignore" follow the lists
  }

  note(text, kind = "note") {
    this.result.className = `note ${kind}`;
    this.result.textContent = text;
  }

  render() {
    const here = this.app.world.room;
    const buddies = [...this.buddies.values()].sort(byPresence);
    fill(this.list, buddies.length ? buddies.map((buddy) => this.row(buddy, here))
      : h("li", { class: "note empty" }, "No buddies yet: “Add buddy” beside a player, or ask by wallet."));
    this.requestsHead.hidden = this.requests.size === 0;
    fill(this.asking, [...this.requests.values()].map((request) =>
      h("li", { dataset: { wallet: request.walletAddress } }, h("span", { class: "name" }, request.username),
        h("span", { class: "actions" },
          h("button", { type: "button", class: "accept", onclick: () => this.answerHere(request.walletAddress, true) }, "Accept"),
          h("button", { type: "button", class: "decline secondary",
            onclick: () => this.answerHere(request.walletAddress, false) }, "Decline")))));
    this.sentHead.hidden = this.sent.size === 0;
    fill(this.asked, [...this.sent.values()].map((request) =>
      h("li", { dataset: { wallet: request.walletAddress } }, h("span", { class: "name" }, request.username),
        h("span", { class: "actions" }, h("button", { type: "button", class: "withdraw secondary",
          title: "Take back this request", onclick: () => this.withdraw(request) }, "Withdraw")))));
    this.ignoredHead.hidden = this.ignored.size === 0;
    fill(this.ignoring, [...this.ignored.values()].map((ignored) =>
      h("li", { dataset: { wallet: ignored.walletAddress } }, h("span", { class: "name" }, ignored.username),
        h("span", { class: "actions" }, h("button", { type: "button", class: "unignore secondary",
          onclick: () => this.toggleIgnore({ wallet: ignored.walletAddress, name: ignored.username }) }, "Unignore")))));
  }

  row(buddy, here) {
    const sameRoom = buddy.online && buddy.room === here;
    const where = buddy.online ? (sameRoom ? `${buddy.room} (here)` : buddy.room) : "offline";
    return h("li", { dataset: { wallet: buddy.walletAddress, online: String(buddy.online), room: buddy.room } },
      h("span", { class: `dot ${buddy.online ? "online" : "offline"}`, role: "img",
        "aria-label": buddy.online ? "online" : "offline", title: buddy.online ? "online" : "offline" }),
      h("span", { class: "name" }, buddy.username), " ", h("small", { class: "room" }, where),
      h("span", { class: "actions" },
        h("button", { type: "button", class: "go", disabled: !buddy.online || sameRoom,
          title: "Go to this buddy's room instance", onclick: () => this.go(buddy) }, "Go there"),
        h("button", { type: "button", class: "remove secondary", title: "No longer buddies",
          onclick: () => this.remove(buddy) }, "Remove")));
  }
}
