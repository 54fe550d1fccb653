// Overview: live connections, rooms and instances, sign-ins and coin flow; refreshed
// every few seconds while it is on screen.
import { fill, h } from "../../shared/dom.js";
import { facts, message, table } from "../ui.js";

const REFRESH_MS = 5000;

export function overview(container, { api }) {
  const windowSelect = h("select", { id: "overview-window", "aria-label": "Window" },
    ["1h", "24h", "7d", "31d"].map((w) => h("option", { value: w, selected: w === "24h" }, `last ${w}`)));
  const status = h("p", { class: "note", id: "overview-status" });
  const body = h("div", { id: "overview-body", class: "grid" });
  fill(container, h("h2", {}, "Overview", windowSelect), status, body);
  let timer = null;

  async function refresh() {
    try {
      const data = await api.get("/admin/overview", { window: windowSelect.value });
      render(data);
      message(status, `Node ${data.node}, updated ${new Date(data.at).toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s`);
    } catch (error) {
      message(status, error.message, "error");
    }
  }

  function render(data) {
    const c = data.connections;
    const rooms = data.rooms.filter((room) => room.population > 0);
    fill(body,
      h("section", { class: "card" }, h("h3", {}, "Connections (this node)"),
        facts([["open", c.open], ["signed in", c.signedIn], ["guests", c.guests], ["not signed in", c.anonymous],
          ["players online (all nodes)", data.playersOnline]], "overview-connections")),
      h("section", { class: "card" }, h("h3", {}, `Sign-ins (${data.window})`),
        facts([["succeeded", data.signIns.succeeded], ["failed", data.signIns.failed]], "overview-signins")),
      h("section", { class: "card wide" }, h("h3", {}, "Rooms with penguins (this node)"),
        table([
          { key: "name", label: "room" },
          { key: "population", label: "here", num: true },
          { key: "capacity", label: "capacity per instance", num: true },
          { key: "instances", label: "instances", format: (list) => list.map((i) => `${i.id} ${i.population}/${i.capacity}`).join(", ") },
        ], rooms, { id: "overview-rooms", empty: "Nobody is in a room" })),
      h("section", { class: "card wide" }, h("h3", {}, `Coin flow by type (${data.window})`),
        table([
          { key: "type", label: "type" },
          { key: "created", label: "created", num: true },
          { key: "destroyed", label: "destroyed", num: true },
          { key: "entries", label: "entries", num: true },
        ], data.coinFlow, { id: "overview-coinflow", empty: "No coins moved" })),
    );
  }

  windowSelect.addEventListener("change", refresh);
  return {
    show() {
      refresh();
      timer = setInterval(() => {
        if (document.visibilityState === "visible") refresh();
      }, REFRESH_MS);
    },
    hide() {
      clearInterval(timer);
    },
  };
}
