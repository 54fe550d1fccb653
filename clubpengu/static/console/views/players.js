// Players: find a player by the start of their name or wallet (GET /admin/users?q=), then
// their page: the cards of player_sections.js that the role may see, each drawn from the
// player's record (GET /admin/users/{wallet}) or loading its own data.
import { fill, h } from "../../shared/dom.js";
import { PLAYER_SECTIONS } from "../player_sections.js";
import { message, table, when } from "../ui.js";

export function players(container, context) {
  const { api, role } = context;
  const input = h("input", {
    id: "lookup-wallet", placeholder: "Name or wallet (its start is enough)", required: true, maxlength: 44,
    "aria-label": "Name or wallet", autocomplete: "off", spellcheck: "false",
  });
  const form = h("form", { id: "lookup-form", class: "row wrap", role: "search" }, input, h("button", { type: "submit" }, "Find"));
  const status = h("p", { class: "note", id: "lookup-status", role: "status" });
  const results = h("div", { id: "lookup-results" });
  const body = h("div", { id: "lookup-body" });
  fill(container, h("h2", {}, "Players"), form, status, results, body);
  let shown = null; // the wallet whose page is open

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value.trim());
  });

  async function search(q) {
    if (!q) return;
    message(status, "Searching…");
    try {
      const data = await api.get("/admin/users", { q, limit: 20 });
      const exact = data.users.find((u) => u.walletAddress === q);
      if (exact) {
        fill(results);
        await lookUp(q);
        return;
      }
      fill(body);
      shown = null;
      fill(results, table([
        { key: "username", label: "name", format: (name, u) => h("a", { href: `#player/${u.walletAddress}`, class: "player-link", dataset: { wallet: u.walletAddress }, onclick: (e) => { e.preventDefault(); lookUp(u.walletAddress); } }, name) },
        { key: "walletAddress", label: "wallet" },
        { key: "coins", label: "coins", num: true },
        { key: "isConnected", label: "online", format: (v) => (v ? "yes" : "") },
        { key: "moderation", label: "sanctions", format: sanctions },
        { key: "lastLoginAt", label: "last sign-in", format: when },
      ], data.users, { id: "search-results", empty: `Nobody's name or wallet starts with "${q}"` }));
      message(status, data.users.length ? `${data.users.length}${data.next ? "+" : ""} found` : "");
    } catch (error) {
      message(status, error.message, "error");
    }
  }

  async function lookUp(wallet) {
    if (!wallet) return;
    input.value = wallet;
    message(status, "Looking up…");
    try {
      const record = await api.get(`/admin/users/${encodeURIComponent(wallet)}`);
      shown = wallet;
      fill(results);
      render(record);
      message(status, "");
    } catch (error) {
      fill(body);
      message(status, error.status === 404 ? "No player with that wallet" : error.message, "error");
    }
  }

  function render(record) {
    const page = { ...context, record, reload: () => lookUp(record.user.walletAddress) };
    const cards = PLAYER_SECTIONS.filter((s) => !s.roles || s.roles.includes(role)).map((s) =>
      h("section", { class: `card${s.wide ? " wide" : ""}`, id: `card-${s.name}` }, h("h3", {}, s.title), s.render(page)));
    fill(body, h("div", { class: "grid" }, cards));
  }

  return {
    show(wallet) {
      if (wallet && wallet !== shown) lookUp(wallet);
    },
    hide() {},
    lookUp,
  };
}

function sanctions(moderation) {
  const parts = [];
  if (moderation?.ban) parts.push(`banned${moderation.ban.until ? ` until ${when(moderation.ban.until)}` : ""}`);
  if (moderation?.mute) parts.push(`muted${moderation.mute.until ? ` until ${when(moderation.mute.until)}` : ""}`);
  return parts.join("; ") || "—";
}
