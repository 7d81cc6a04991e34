// A connector's "Connection Status and Activity Overview": its status, the last 3 hours' counts and
// p99 latency, a chart of successes and errors per 10 minutes, and the recent delivery attempts.
// Refreshed every few seconds while the page is open.

import { ApiFailure, api } from "../api.js";
import { countChart } from "../chart.js";
import { formatTime, h, idOf, panel, replace } from "../dom.js";
import { connectorPath, formatLatency, statusView } from "./connectors.js";

const REFRESH_MS = 4000;

function stat(label, value) {
  return h(
    "div",
    { class: "stat" },
    h("span", { class: "value" }, value),
    h("span", { class: "label" }, label),
  );
}

export function activityOverview(project, connector) {
  const id = idOf(connector.name);
  let shownStatus = connector.status;
  const status = h("dd", {}, statusView(project, connector));
  const stats = h("div", { class: "stats" });
  const chart = h("div", { class: "chart-slot" });
  const attempts = h("div", {}, h("p", { class: "loading" }, "Loading attempts…"));
  const el = panel(
    "Connection Status and Activity Overview",
    h("dl", { class: "facts" }, h("dt", {}, "Status"), status),
    h("h3", {}, "Last 3 hours"),
    stats,
    chart,
    h(
      "div",
      { class: "legend", "aria-hidden": "true" },
      h("span", {}, h("span", { class: "swatch success" }), "Successes"),
      h("span", {}, h("span", { class: "swatch error" }), "Errors"),
    ),
    h("h3", {}, "Recent attempts"),
    attempts,
  );

  let timer = null;
  let stopped = false;
  async function refresh() {
    try {
      const [current, metricsAnswer, attemptsAnswer] = await Promise.all([
        api("GET", connectorPath(project, id)),
        api("GET", `${connectorPath(project, id)}:metrics`),
        api("GET", `${connectorPath(project, id)}/attempts?pageSize=20`),
      ]);
      if (stopped) return;
      if (current.status !== shownStatus) {
        // e.g. disabled by the system while the page is open
        shownStatus = current.status;
        replace(status, statusView(project, current));
      }
      const { metrics, series } = metricsAnswer;
      replace(
        stats,
        stat("Successes", String(metrics.successCount)),
        stat("Errors", String(metrics.errorCount)),
        stat("p99 latency", metrics.successCount ? formatLatency(metrics.latency99p) : "—"),
      );
      replace(chart, countChart("Successes and errors per 10 minutes, last 3 hours", series ?? []));
      replace(attempts, attemptsTable(attemptsAnswer.attempts ?? []));
    } catch (error) {
      if (!stopped && !(error instanceof ApiFailure && error.status === 401)) {
        replace(attempts, h("p", { class: "error" }, `Activity could not be loaded: ${error.message}`));
      }
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  refresh();
  return {
    el,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function attemptsTable(attempts) {
  if (!attempts.length)
    return h("p", { class: "empty-note" }, "No delivery attempts in the attempt log yet.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "aria-label": "Recent attempts" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Time", "Result", "Latency", "Attempt", "Event ID"].map((text) =>
            h("th", { scope: "col", class: text === "Latency" || text === "Attempt" ? "num" : null }, text),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        attempts.map((a) =>
          h(
            "tr",
            {},
            h("td", {}, formatTime(a.time)),
            h(
              "td",
              { class: a.success ? null : "error" },
              a.statusCode ? String(a.statusCode) : (a.error ?? ""),
            ),
            h("td", { class: "num" }, formatLatency(a.latency)),
            h("td", { class: "num" }, String(a.attempt)),
            h("td", { class: "mono" }, a.eventId),
          ),
        ),
      ),
    ),
  );
}
