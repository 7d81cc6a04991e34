// API Integrations → Data Connectors: every connector of the project with its status, endpoint and
// the last 3 hours' deliveries (one `:metrics` call each), and the "Add Data Connector" button.

import { api, listAll } from "../api.js";
import { h, idOf, replace } from "../dom.js";

const STATUS_TEXT = {
  ACTIVE: "Active",
  USER_DISABLED: "Disabled",
  SYSTEM_DISABLED: "Disabled by the system",
};
const STATUS_CLASS = { ACTIVE: "active", USER_DISABLED: "disabled", SYSTEM_DISABLED: "system-disabled" };

export function connectorPath(project, id = "") {
  const base = `projects/${encodeURIComponent(project)}/dataconnectors`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

/** "0.239s" (a protobuf Duration) → "239 ms". */
export function formatLatency(duration) {
  const seconds = Number.parseFloat(duration);
  if (!Number.isFinite(seconds)) return "—";
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(2)} s`;
}

/** Why the system disabled a connector, from the resource's `statusReason`. */
const REASON_TEXT = {
  RECEIVER_GONE: "The endpoint answered 410 Gone, and the connector is set to stop then.",
  NO_SUCCESS_FOR_5_DAYS:
    "Every push failed for 5 days without a success. Fix the endpoint, then enable the connector again.",
};

export function disabledReason(connector) {
  return (
    REASON_TEXT[connector.statusReason] ??
    "Conduit disabled it before it kept reasons: its recent attempts show what failed."
  );
}

/** The status as a badge, plus the reason when the system disabled it. */
export function statusView(_project, connector) {
  const badge = h(
    "span",
    { class: `badge ${STATUS_CLASS[connector.status] ?? "disabled"}` },
    STATUS_TEXT[connector.status] ?? connector.status,
  );
  if (connector.status !== "SYSTEM_DISABLED") return badge;
  return h("span", {}, badge, h("span", { class: "reason" }, disabledReason(connector)));
}

export async function render(main, _params, ctx) {
  const { project, permissions } = ctx;
  const head = h("div", { class: "page-head" }, h("h1", {}, "Data Connectors"));
  if (permissions.has("dataconnector.create")) {
    head.append(
      h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: () => ctx.navigate(`#/p/${encodeURIComponent(project)}/dataconnectors/new`),
        },
        "Add Data Connector",
      ),
    );
  }
  const body = h("div", {}, h("p", { class: "loading" }, "Loading Data Connectors…"));
  main.append(
    head,
    h(
      "p",
      { class: "hint" },
      "Data Connectors forward every event of this project to your endpoint. Counts cover the last 3 hours.",
    ),
    body,
  );

  const connectors = await listAll(connectorPath(project), "dataConnectors");
  if (!connectors.length) {
    replace(body, h("p", { class: "empty-note" }, "No Data Connectors yet."));
    return;
  }
  const rows = connectors.map((connector) => row(project, connector));
  replace(
    body,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { "aria-label": "Data Connectors" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Display name"),
            h("th", { scope: "col" }, "Status"),
            h("th", { scope: "col" }, "Endpoint URL"),
            h("th", { scope: "col", class: "num" }, "Successes"),
            h("th", { scope: "col", class: "num" }, "Errors"),
            h("th", { scope: "col", class: "num" }, "p99 latency"),
          ),
        ),
        h(
          "tbody",
          {},
          rows.map((r) => r.el),
        ),
      ),
    ),
  );
  await Promise.all(rows.map((r) => r.loadMetrics()));
}

function row(project, connector) {
  const id = idOf(connector.name);
  const cells = {
    success: h("td", { class: "num" }, "…"),
    error: h("td", { class: "num" }, "…"),
    latency: h("td", { class: "num" }, "…"),
  };
  const el = h(
    "tr",
    {},
    h(
      "th",
      { scope: "row" },
      h(
        "a",
        { href: `#/p/${encodeURIComponent(project)}/dataconnectors/${encodeURIComponent(id)}` },
        connector.displayName || id,
      ),
    ),
    h("td", {}, statusView(project, connector)),
    h("td", { class: "mono" }, connector.httpConfig?.url ?? ""),
    cells.success,
    cells.error,
    cells.latency,
  );
  async function loadMetrics() {
    try {
      const { metrics } = await api("GET", `${connectorPath(project, id)}:metrics`);
      cells.success.textContent = String(metrics.successCount);
      cells.error.textContent = String(metrics.errorCount);
      cells.latency.textContent = metrics.successCount ? formatLatency(metrics.latency99p) : "—";
    } catch {
      for (const cell of Object.values(cells)) cell.textContent = "—";
    }
  }
  return { el, loadMetrics };
}
