// The staff console: sign in with a wallet through the HTTP twin of the sign-in, then the
// views your role allows. Analysts see every view read-only: the views that write are not
// built for them, and the server refuses their writes anyway (403). The token stays in
// memory: reload the page and you sign in again.
import { $, fill, h } from "../shared/dom.js";
import { clientConfig, devKeySigner, phantomProvider, phantomSigner, shortWallet, tokenClaims } from "../shared/wallet.js";
import { Api } from "./api.js";
import { coins } from "./views/coins.js";
import { ledger } from "./views/ledger.js";
import { overview } from "./views/overview.js";
import { players } from "./views/players.js";
import { promos } from "./views/promos.js";
import { report } from "./views/report.js";

const VIEWS = [
  { name: "overview", label: "Overview", make: overview },
  { name: "players", label: "Players", make: players },
  { name: "coins", label: "Adjust coins", make: coins, admin: true },
  { name: "promos", label: "Promo codes", make: promos },
  { name: "ledger", label: "Ledger check", make: ledger },
  { name: "report", label: "Report", make: report },
];

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
  $("#sign-out").addEventListener("click", () => location.reload());
}

let signingIn = false;

async function signIn(makeSigner) {
  if (signingIn) return; // a double click signs in once
  signingIn = true;
  try {
    say("Signing in…");
    const signer = await makeSigner();
    await api.signIn(signer);
    const { role } = tokenClaims(api.token);
    if (role !== "admin" && role !== "analyst") {
      api.token = null;
      say(`${signer.address} has no staff role. Add it to ADMIN_WALLETS or ANALYST_WALLETS, restart the server and sign in again${signer.kind === "dev" ? " (this page keeps the key until it is reloaded)" : ""}.`, "error");
      return;
    }
    start(role, signer.address);
  } catch (error) {
    say(`Sign-in failed: ${error.message}`, "error");
  } finally {
    signingIn = false;
  }
}

function start(role, wallet) {
  document.body.dataset.role = role;
  document.body.classList.add("signed-in");
  $("#who").textContent = `${shortWallet(wallet)} · ${role}${role === "analyst" ? " (read-only)" : ""}`;
  $("#sign-out").hidden = false;
  const nav = $("#nav");
  const context = { api, role, wallet, say, go };
  for (const view of VIEWS) {
    if (view.admin && role !== "admin") continue; // not built at all for analysts
    const section = h("section", { id: `view-${view.name}`, class: "view", hidden: true });
    $("#views").append(section);
    views.set(view.name, { section, ...view.make(section, context) });
    nav.append(h("button", { type: "button", class: "tab", dataset: { view: view.name }, onclick: () => go(view.name) }, view.label));
  }
  say("");
  go("overview");
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
