// The cards of a player's page, in order. Each is {name, title, roles?, wide?, render(page)}
// where `page` is the console's context plus `record` (GET /admin/users/{wallet}) and
// `reload()`; `render` returns the card's content (and may load more on its own). A card
// with `roles` is only built for those roles. To add a card (buddies, stamps, …): one
// entry here, or `PLAYER_SECTIONS.push(…)` from a panel's module.
import { fill, h } from "../shared/dom.js";
import { shortWallet } from "../shared/wallet.js";
import { ADMINS, READERS } from "./roles.js";
import { durationSelect, durationValue, facts, field, message, pagedList, playerLink, show, table, when } from "./ui.js";

export const LEDGER_COLUMNS = [
  { key: "createdAt", label: "when", format: when },
  { key: "type", label: "type" },
  { key: "amount", label: "amount", num: true },
  { key: "balanceAfter", label: "balance after", num: true },
  { key: "reason", label: "reason" },
  { key: "actor", label: "actor" },
];

export const PLAYER_SECTIONS = [
  { name: "profile", title: "Profile", render: profile },
  { name: "moderation", title: "Moderation", render: moderation },
  { name: "presence", title: "Presence", render: presence },
  { name: "buddies", title: "Buddies", render: buddies },
  { name: "inventory", title: "Inventory", render: inventory },
  { name: "puffles", title: "Puffles", render: puffles },
  { name: "stamps", title: "Stamps", render: stamps },
  { name: "matches", title: "Matches", wide: true, render: matchHistory },
  { name: "moderation-history", title: "Moderation history", wide: true, render: moderationHistory },
  { name: "sessions", title: "Sign-in sessions", wide: true, render: sessions },
  { name: "devices", title: "Devices and connections", wide: true, render: devicesAndConnections },
  { name: "ledger", title: "Ledger", wide: true, roles: READERS, render: ledger },
  { name: "data", title: "Player's data", roles: ADMINS, render: playerData },
];

function profile({ record, can, go }) {
  const u = record.user;
  return [
    facts([
      ["wallet", u.walletAddress], ["username", u.username], ["coins", u.coins],
      ["look", Object.entries(u.customization).map(([k, v]) => `${k}: ${v}`)],
      ["created", when(u.createdAt)], ["migrated from", u.migrationSource],
    ], "lookup-profile"),
    can("coins") ? h("button", { type: "button", class: "secondary", id: "lookup-adjust", onclick: () => go("coins", u.walletAddress) }, "Adjust coins…") : null,
  ];
}

function presence({ record }) {
  const u = record.user;
  return facts([
    ["online", u.isConnected ? "yes" : "no"], ["node", u.nodeId], ["room", u.lastRoom],
    ["last sign-in", when(u.lastLoginAt)], ["last active", when(u.lastActiveAt)], ["last left", when(u.lastLogoutAt)],
  ], "lookup-presence");
}

/** Every list of the player, both ways (GET /admin/users/{wallet}/buddies): buddies online
 * or not and where, requests in and out (a hidden one was sent while the player ignored its
 * sender, and was never shown to them), whom they ignore and how many ignore them. */
function buddies({ record, api, go }) {
  const holder = h("div", { id: "player-buddies" }, h("p", { class: "note" }, "Loading…"));
  const name = (row) => playerLink(go, row.walletAddress, row.username);
  const people = (rows, id, empty) => table([{ key: "username", label: "player", format: (_, row) => name(row) }],
    rows, { id, empty, rowData: (row) => ({ wallet: row.walletAddress }) });
  api.get(`/admin/users/${encodeURIComponent(record.user.walletAddress)}/buddies`).then((lists) => {
    holder.replaceChildren(
      table([
        { key: "username", label: "buddy", format: (_, row) => name(row) },
        { key: "online", label: "online", format: (online) => (online ? "● yes" : "no") },
        { key: "room", label: "room" },
      ], lists.buddies, { id: "buddies-table", empty: "No buddies", rowData: (row) => ({ wallet: row.walletAddress, online: String(row.online) }) }),
      h("h4", {}, "Requests received"),
      table([
        { key: "username", label: "player", format: (_, row) => name(row) },
        { key: "hidden", label: "hidden", format: (hidden) => (hidden ? "yes (they ignore the sender)" : "") },
      ], lists.requestsReceived, { id: "buddy-requests-received", empty: "None", rowData: (row) => ({ wallet: row.walletAddress }) }),
      h("h4", {}, "Requests sent"), people(lists.requestsSent, "buddy-requests-sent", "None"),
      h("h4", {}, "Ignoring"), people(lists.ignored, "buddy-ignored", "Nobody"),
      facts([["ignored by", `${lists.ignoredBy} player(s)`]], "buddy-ignored-by"));
  }, (error) => message(holder, error.message, "error"));
  return holder;
}

function inventory({ record }) {
  const u = record.user;
  return facts([
    ["cosmetics", u.unlockedCosmetics], ["mounts", u.unlockedMounts],
    ["puffle items", Object.entries(u.inventory).map(([k, v]) => `${k} ×${v}`)],
  ], "lookup-inventory");
}

function puffles({ record }) {
  return table([
    { key: "name", label: "name" }, { key: "color", label: "colour" },
    { key: "hunger", label: "hunger", num: true }, { key: "happiness", label: "happiness", num: true },
    { key: "walking", label: "walking", format: (v) => (v ? "yes" : "") },
  ], record.puffles, { id: "lookup-puffles" });
}

/** The stamps the player holds (`user.stamps`), in the order earned; their coin rewards are
 * in the ledger (type stamp_reward). */
function stamps({ record }) {
  const held = record.user.stamps ?? [];
  if (!held.length) return h("p", { class: "note", id: "lookup-stamps" }, "No stamps yet");
  return [h("p", { class: "note" }, `${held.length} ${held.length === 1 ? "stamp" : "stamps"}, in the order earned`),
    h("ol", { id: "lookup-stamps", class: "stamp-list" }, held.map((id) => h("li", { dataset: { stamp: id } }, h("code", {}, id))))];
}

function sanctionText(sanction) {
  if (!sanction) return "no";
  return `until ${sanction.until ? when(sanction.until) : "lifted"} — ${sanction.reason} (by ${shortWallet(sanction.by ?? "")})`;
}

/** The ban and mute in force and, for moderators and admins, the buttons to change them:
 * one reason (kept in the history and the audit) for whichever button is pressed. Enter in
 * a field never acts: each action is its own button. */
function moderation({ record, api, can, reload }) {
  const u = record.user;
  const state = facts([["banned", sanctionText(u.moderation.ban)], ["muted", sanctionText(u.moderation.mute)]], "moderation-state");
  if (!can("moderate")) return state;
  const reason = h("input", { id: "mod-reason", required: true, minlength: 3, maxlength: 200, placeholder: "Why (kept in the audit)" });
  const duration = durationSelect({ id: "mod-duration" });
  const note = h("input", { id: "mod-note", maxlength: 1000, placeholder: "Ticket, evidence… (optional)" });
  const result = h("p", { id: "mod-result", class: "note", role: "status" });
  const act = async (action) => {
    if (reason.value.trim().length < 3) {
      message(result, "Give a reason (at least 3 characters).", "error");
      reason.focus();
      return;
    }
    const lifting = action.startsWith("un");
    const body = lifting ? { reason: reason.value.trim() }
      : { reason: reason.value.trim(), duration: durationValue(duration), note: note.value.trim() || null };
    message(result, "Applying…");
    try {
      const done = await api.post(`/admin/users/${encodeURIComponent(u.walletAddress)}/${action}`, body);
      await reload();
      // reload() draws the page again: the answer goes on the new card, or it would vanish.
      message(document.getElementById("mod-result") ?? result,
        `${done.action}: ${done.until ? `until ${when(done.until)}` : lifting ? "lifted" : "until lifted"}`, "success");
    } catch (error) {
      message(result, error.message, "error");
    }
  };
  const button = (action, label, attrs = {}) => h("button", { type: "button", id: `mod-${action}`, onclick: () => act(action), ...attrs }, label);
  const form = h("form", { id: "mod-form", class: "stack", onsubmit: (e) => e.preventDefault() },
    field("Reason", reason), field("Duration", duration), field("Note", note),
    h("div", { class: "row wrap" },
      button("mute", "Mute"), button("ban", "Ban", { class: "danger" }),
      u.moderation.mute ? button("unmute", "Unmute", { class: "secondary" }) : null,
      u.moderation.ban ? button("unban", "Unban", { class: "secondary" }) : null),
    result);
  return [state, form];
}

function moderationHistory({ record }) {
  return table([
    { key: "at", label: "when", format: when }, { key: "action", label: "action" },
    { key: "duration", label: "for", format: (v, row) => (row.action.startsWith("un") ? "—" : v ?? "until lifted") },
    { key: "until", label: "until", format: when }, { key: "reason", label: "reason" }, { key: "note", label: "note" },
    { key: "actor", label: "by" }, { key: "role", label: "role" },
  ], record.moderationHistory ?? [], { id: "moderation-history", empty: "Never banned or muted" });
}

function sessions({ record, api, can, reload }) {
  const list = table([
    { key: "createdAt", label: "signed in", format: when }, { key: "expiresAt", label: "expires", format: when },
    { key: "revokedAt", label: "revoked", format: when }, { key: "revokedReason", label: "why" }, { key: "role", label: "role" },
  ], record.sessions, { id: "lookup-sessions" });
  if (!can("revoke")) return list;
  const reason = h("input", { id: "revoke-reason", required: true, minlength: 3, maxlength: 200, placeholder: "Why (kept in the audit)", "aria-label": "Reason to revoke" });
  const result = h("p", { id: "revoke-result", class: "note", role: "status" });
  const form = h("form", { id: "revoke-form", class: "row wrap" }, reason,
    h("button", { type: "submit", id: "revoke-run", class: "danger" }, "Revoke every session"), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const done = await api.post(`/admin/users/${encodeURIComponent(record.user.walletAddress)}/revoke`, { reason: reason.value.trim() });
      await reload();
      // reload() draws the page again: the answer goes on the new card, or it would vanish.
      message(document.getElementById("revoke-result") ?? result,
        `${done.revoked} session(s) revoked; the player is signed out everywhere`, "success");
    } catch (error) {
      message(result, error.message, "error");
    }
  });
  return [list, form];
}

const shortHash = (hash) => (hash ? `${hash.slice(0, 12)}…` : "not sent");

/** Where the player connects from (GET /admin/users/{wallet}/devices: each client-chosen
 * device id, hashed, with its reconnects) and their connections page by page (…/connections),
 * newest first. An entry never closed by its node says how it ended: still open, or closed
 * by its node's restart. */
function devicesAndConnections({ record, api }) {
  const path = `/admin/users/${encodeURIComponent(record.user.walletAddress)}`;
  const status = h("p", { class: "note", role: "status" });
  const devices = h("div", { id: "player-devices" }, h("p", { class: "note" }, "Loading…"));
  api.get(`${path}/devices`).then((data) => fill(devices, table([
    { key: "deviceHash", label: "device", format: shortHash },
    { key: "connections", label: "connections", num: true }, { key: "reconnects", label: "reconnects", num: true },
    { key: "open", label: "open", num: true },
    { key: "firstSeen", label: "first seen", format: when }, { key: "lastSeen", label: "last seen", format: when },
    { key: "userAgents", label: "user agents", format: show },
  ], data.devices, { id: "player-devices-table", empty: "No connections recorded", rowData: (d) => ({ device: d.deviceHash ?? "" }) })))
    .catch((error) => message(status, error.message, "error"));
  const ended = (left, c) => {
    if (c.closedBy === "restart") return `${when(left)} (node restarted)`;
    return left ? when(left) : "open";
  };
  const list = pagedList({
    api, path: `${path}/connections`, key: "connections", id: "player-connections", status,
    query: () => ({ limit: 20 }),
    render: (rows) => table([
      { key: "connectedAt", label: "connected", format: when }, { key: "signedInAt", label: "signed in", format: when },
      { key: "disconnectedAt", label: "left", format: ended }, { key: "closeCode", label: "close", num: true },
      { key: "deviceHash", label: "device", format: shortHash }, { key: "userAgent", label: "user agent" },
      { key: "nodeId", label: "node" }, { key: "roomsVisited", label: "rooms", format: show },
      { key: "clientVersion", label: "client" },
    ], rows, { id: "player-connections-table", empty: "No connections recorded", rowData: (c) => ({ connection: c.id }) }),
  });
  list.load();
  return [h("h4", {}, "Devices"), devices, h("h4", {}, "Connections"), list.element, status];
}

/** The admins' data-rights tools (docs/privacy.md): the export, downloaded as the JSON
 * document the server streams, and the erasure, which needs a reason and a second press
 * on a confirmation that says what cannot be undone. Both are audited by the server. */
function playerData({ record, api }) {
  const u = record.user;
  const path = `/admin/users/${encodeURIComponent(u.walletAddress)}`;
  const result = h("p", { id: "data-result", class: "note", role: "status" });
  const exportButton = h("button", { type: "button", class: "secondary", id: "data-export" }, "Export as JSON");
  exportButton.addEventListener("click", async () => {
    message(result, "Exporting…");
    try {
      const blob = await api.download(`${path}/export`);
      const link = h("a", { href: URL.createObjectURL(blob), download: `clubpengu-export-${u.walletAddress}.json` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      message(result, `Export saved (${blob.size.toLocaleString("en")} bytes)`, "success");
    } catch (error) {
      message(result, error.message, "error");
    }
  });

  const reason = h("input", { id: "erase-reason", required: true, minlength: 3, maxlength: 200, placeholder: "Why (kept in the audit)", "aria-label": "Reason to erase" });
  const ask = h("button", { type: "button", class: "danger", id: "erase-ask" }, "Erase…");
  const confirmation = h("div", { id: "erase-confirm-box", class: "stack", hidden: true, role: "alertdialog", "aria-labelledby": "erase-warning" },
    h("p", { id: "erase-warning", class: "warning" },
      `Erase ${u.username}'s data for good? Their sessions end now; the profile, puffles, sessions, connection history, events and chat lines are deleted; ledger entries, matches and audit entries stay under a tombstone. This cannot be undone.`),
    h("div", { class: "row wrap" },
      h("button", { type: "button", class: "danger", id: "erase-confirm" }, "Erase for good"),
      h("button", { type: "button", class: "secondary", id: "erase-keep" }, "Keep the data")));
  const [confirm, keep] = confirmation.querySelectorAll("button");
  const close = () => {
    confirmation.hidden = true;
    ask.disabled = false;
  };
  ask.addEventListener("click", () => {
    if (reason.value.trim().length < 3) {
      message(result, "Give a reason (at least 3 characters).", "error");
      reason.focus();
      return;
    }
    message(result, "");
    confirmation.hidden = false;
    ask.disabled = true;
    keep.focus(); // the safe choice is the one a stray Enter presses
  });
  keep.addEventListener("click", () => {
    close();
    message(result, "Nothing was erased.");
    ask.focus();
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    message(result, "Erasing…");
    try {
      const { job } = await api.post(`${path}/erase`, { reason: reason.value.trim() });
      confirmation.hidden = true;
      for (const control of [exportButton, reason, ask]) control.disabled = true;
      message(result, `Erased: ${job.status}; the records kept now name ${job.tombstone}`, "success");
    } catch (error) {
      close();
      message(result, error.message, "error");
    } finally {
      confirm.disabled = false;
    }
  });
  const form = h("form", { id: "erase-form", class: "stack", onsubmit: (e) => e.preventDefault() },
    field("Reason to erase", reason), h("div", { class: "row wrap" }, ask), confirmation);
  return [h("div", { class: "row wrap" }, exportButton), form, result];
}

/** This player's matches, newest first (GET /admin/matches?wallet=), from their seat. */
function matchHistory({ record, api, go }) {
  const wallet = record.user.walletAddress;
  const status = h("p", { class: "note" });
  const opponent = (m) => m.players.find((p) => p.walletAddress !== wallet) ?? m.players[0];
  const outcome = (m) => {
    if (m.status === "active") return "playing";
    if (m.stakesRefunded) return "refunded";
    if (!m.winnerWallet) return "draw";
    return m.winnerWallet === wallet ? "win" : "loss";
  };
  const list = pagedList({
    api, path: "/admin/matches", key: "matches", id: "player-matches", status,
    query: () => ({ wallet, limit: 20 }),
    render: (rows) => table([
      { key: "createdAt", label: "started", format: when }, { key: "game", label: "game" },
      { key: "players", label: "opponent", format: (_, m) => playerLink(go, opponent(m).walletAddress, opponent(m).username) },
      { key: "wager", label: "wager", num: true }, { key: "status", label: "result", format: (_, m) => outcome(m) },
      { key: "reason", label: "how" }, { key: "moves", label: "moves", num: true },
    ], rows, { id: "player-matches-table", empty: "No matches yet", rowData: (m) => ({ matchId: m.id }) }),
  });
  list.load();
  return [list.element, status];
}

function ledger({ record, api }) {
  const status = h("p", { class: "note" });
  const list = pagedList({
    api, path: "/admin/transactions", key: "transactions", id: "lookup-ledger", status,
    query: () => ({ wallet: record.user.walletAddress, limit: 20 }),
    render: (rows) => table(LEDGER_COLUMNS, rows, { id: "ledger-table", empty: "No ledger entries" }),
  });
  list.load();
  return [list.element, status];
}


