// The staff console: sign in with a wallet through the HTTP twin of the sign-in, ask the
// server which role this wallet has now (GET /admin/me), then build the panels that role
// may use (panels.js). Analysts see every economy view read-only, moderators the players,
// reports, matches and the collusion view; the server refuses anything else anyway (403).
// The token stays in memory; "Sign out" revokes it on the server (POST /auth/logout).
import { $, h } from "../shared/dom.js";
import { clientConfig, devKeySigner, phantomProvider, phantomSigner, shortWallet } from "../shared/wallet.js";
import { Api } from "./api.js";
import { PANELS } from "./panels.js";
import { ALL, ANALYST, can } from "./roles.js";

const api = new Api();
const views = new Map();
let current = null;

function say(text, kind = "note") {
  const status = $("#status");
  status.className = kind;
  status.textContent = text;
}

async function boot() {
  const config = await clientConfig();
  if (phantomProvider()) $("#sign-in-phantom").hidden = false;
  if (config.devKeys) $("#sign-in-dev").hidden = false;
  else $("#sign-in-note").textContent = config.devKeysRefusal;
  $("#sign-in-phantom").addEventListener("click", () => signIn(phantomSigner));
  $("#sign-in-dev").addEventListener("click", () => signIn(devKeySigner));
  $("#sign-out").addEventListener("click", signOut);
}

let signingIn = false;

async function signIn(makeSigner) {
  if (signingIn) return; // a double click signs in once
  signingIn = true;
  try {
    say("Signing in…");
    const signer = await makeSigner();
    await api.signIn(signer);
    const role = await staffRole();
    if (!ALL.includes(role)) {
      await api.signOut().catch(() => {});
      say(`${signer.address} has no staff role. Add it to ADMIN_WALLETS, MODERATOR_WALLETS or ANALYST_WALLETS and sign in again${signer.kind === "dev" ? " (this page keeps the key until it is reloaded)" : ""}.`, "error");
      return;
    }
    start(role, signer.address);
  } catch (error) {
    say(`Sign-in failed: ${error.message}`, "error");
  } finally {
    signingIn = false;
  }
}

/** The role the server's configuration gives this wallet now (null: none). */
async function staffRole() {
  try {
    return (await api.get("/admin/me")).role;
  } catch (error) {
    if (error.status === 403) return null;
    throw error;
  }
}

async function signOut() {
  const button = $("#sign-out");
  button.disabled = true;
  try {
    await api.signOut();
    location.reload();
  } catch (error) {
    button.disabled = false;
    say(`Sign-out failed (the session is still open): ${error.message}`, "error");
  }
}

function start(role, wallet) {
  document.body.dataset.role = role;
  document.body.classList.add("signed-in");
  $("#who").textContent = `${shortWallet(wallet)} · ${role}${role === ANALYST ? " (read-only)" : ""}`;
  $("#sign-out").hidden = false;
  const nav = $("#nav");
  const context = { api, role, wallet, say, go, can: (action) => can(role, action) };
  api.onSessionEnded = (error) => say(`${error.message} — this session has ended; sign out and sign in again.`, "error");
  for (const panel of PANELS) {
    if (!panel.roles.includes(role)) continue; // not built at all for this role
    const section = h("section", { id: `view-${panel.name}`, class: "view", hidden: true });
    $("#views").append(section);
    views.set(panel.name, { section, ...panel.make(section, context) });
    nav.append(h("button", { type: "button", class: "tab", dataset: { view: panel.name }, onclick: () => go(panel.name) }, panel.label));
  }
  say("");
  go(views.keys().next().value);
}

function go(name, argument) {
  const view = views.get(name);
  if (!view) return;
  if (current && current !== view) {
    current.hide();
    current.section.hidden = true;
  }
  current = view;
  view.section.hidden = false;
  for (const tab of $("#nav").children) tab.setAttribute("aria-selected", String(tab.dataset.view === name));
  view.show(argument);
}

boot().catch((error) => say(`Cannot start: ${error.message}`, "error"));
