// The analysts' report, drawn in the page: activity over time, coin flow, match completion.
import { fill, h } from "../../shared/dom.js";
import { barChart } from "../charts.js";
import { message } from "../ui.js";

export function report(container, { api }) {
  // Empty until the first run: the server's default range (the CLI's too) fills them.
  const from = h("input", { type: "date", id: "report-from" });
  const to = h("input", { type: "date", id: "report-to" });
  const form = h("form", { id: "report-form", class: "row" },
    h("label", {}, "From ", from), h("label", {}, "to (exclusive) ", to), h("button", { type: "submit" }, "Run"));
  const status = h("p", { class: "note", id: "report-status" });
  const charts = {
    activity: h("canvas", { id: "chart-activity", class: "chart" }),
    signIns: h("canvas", { id: "chart-signins", class: "chart" }),
    coins: h("canvas", { id: "chart-coins", class: "chart" }),
    matches: h("canvas", { id: "chart-matches", class: "chart" }),
  };
  fill(container, h("h2", {}, "Report"), form, status,
    h("div", { class: "charts" }, Object.values(charts).map((c) => h("div", { class: "card" }, c))));

  async function run(event) {
    event?.preventDefault();
    message(status, "Running…");
    try {
      const range = from.value && to.value ? { from: from.value, to: to.value } : {};
      const data = await api.get("/admin/report", range);
      from.value = data.from.slice(0, 10);
      to.value = data.to.slice(0, 10);
      draw(data.sections);
      message(status, `${data.from} to ${data.to} (UTC, end exclusive)`);
      status.dataset.ready = "true";
    } catch (error) {
      message(status, error.message, "error");
    }
  }

  function draw(sections) {
    const actives = sections.daily_active_players;
    barChart(charts.activity, {
      title: "Daily active players", labels: actives.map((r) => r.day.slice(5)),
      series: [{ name: "players", color: "#2f6fde", values: actives.map((r) => r.players) }],
    });
    const signIns = sections.sign_ins;
    barChart(charts.signIns, {
      title: "Sign-ins per day", labels: signIns.map((r) => r.day.slice(5)),
      series: [
        { name: "succeeded", color: "#2e9e48", values: signIns.map((r) => r.succeeded) },
        { name: "failed", color: "#d8342c", values: signIns.map((r) => r.failed) },
      ],
    });
    const flow = sections.coin_flow;
    barChart(charts.coins, {
      title: "Coin flow by transaction type", labels: flow.map((r) => r.type),
      series: [
        { name: "created", color: "#2e9e48", values: flow.map((r) => r.created) },
        { name: "destroyed", color: "#d8342c", values: flow.map((r) => r.destroyed) },
      ],
    });
    const games = sections.matches;
    barChart(charts.matches, {
      title: "Matches: started and completed",
      labels: games.map((r) => `${r.game} ${Math.round(r.completion_rate * 100)}%`),
      series: [
        { name: "started", color: "#8a939c", values: games.map((r) => r.started) },
        { name: "completed", color: "#2f6fde", values: games.map((r) => r.completed) },
      ],
      empty: "No matches in this period",
    });
  }

  form.addEventListener("submit", run);
  return { show: () => run(), hide() {} };
}
