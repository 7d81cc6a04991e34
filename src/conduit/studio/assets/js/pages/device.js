// One device: its display name and description (the `name` and `description` labels), its labels
// (editable with `device.update`, through `devices:batchUpdate`), its latest values, and its event
// history over a chosen time range as a table and, for numeric types, a chart. The device's own
// event stream keeps all of it current while the page is open.

import { ApiFailure, api, listAll } from "../api.js";
import { lineChart } from "../chart.js";
import { field, fieldError, formatTime, h, replace, uid } from "../dom.js";
import { followEvents } from "../event-stream.js";
import { describeData, deviceTypeName, displayName, eventData, eventName, NUMERIC, numericValue } from "../readings.js";
import { devicePath, latestValues } from "./devices.js";

const RANGES = [
  { value: "1h", text: "Last hour", seconds: 3600 },
  { value: "24h", text: "Last 24 hours", seconds: 86_400 },
  { value: "7d", text: "Last 7 days", seconds: 7 * 86_400 },
];
const TABLE_ROWS = 200; // the newest ones; the charts use every event of the range

function section(title, ...children) {
  const headingId = uid("section");
  return h("section", { class: "panel", "aria-labelledby": headingId }, h("h2", { id: headingId }, title), children);
}

export async function render(main, params, ctx) {
  const { project, permissions, announce } = ctx;
  const id = params.id;
  const canEdit = permissions.has("device.update");
  main.append(h("p", { class: "back" }, h("a", { href: `#/p/${encodeURIComponent(project)}/devices` }, "← Devices")));

  let device = await api("GET", devicePath(project, id));
  const eventTypes = [...Object.keys(device.reported ?? {}), "labelsChanged"];

  const title = h("h1", {});
  const description = h("p", { class: "description" });
  const facts = h("dl", { class: "facts" });
  const labels = h("div", {});
  const latest = h("div", {});
  const history = historyView({ project, id, eventTypes });
  main.append(
    title,
    description,
    section("Device", facts),
    section("Labels", labels),
    section("Latest values", latest),
    history.el,
  );

  function drawHeader() {
    title.textContent = displayName(device);
    description.textContent = device.labels?.description || "No description.";
    description.classList.toggle("empty-note", !device.labels?.description);
    replace(
      facts,
      h("dt", {}, "Device ID"),
      h("dd", { class: "mono" }, id),
      h("dt", {}, "Type"),
      h("dd", {}, deviceTypeName(device.type)),
      device.productNumber ? [h("dt", {}, "Product number"), h("dd", {}, device.productNumber)] : null,
    );
  }

  function drawLabels() {
    replace(labels, canEdit ? labelEditor({ project, device, onChanged: refresh, announce }) : labelList(device.labels));
  }

  function drawLatest() {
    replace(latest, latestValues(device.reported));
  }

  async function refresh() {
    device = await api("GET", devicePath(project, id));
    drawHeader();
    drawLabels();
    drawLatest();
  }

  drawHeader();
  drawLabels();
  drawLatest();

  const close = followEvents(`${devicePath(project, id)}:stream`, {
    onEvent(event) {
      const data = eventData(event);
      if (event.eventType === "labelsChanged") {
        const next = { ...device.labels, ...(data?.added ?? {}), ...(data?.modified ?? {}) };
        for (const key of data?.removed ?? []) delete next[key];
        device = { ...device, labels: next };
        drawHeader();
        drawLabels();
      } else if (data) {
        device = { ...device, reported: { ...device.reported, [event.eventType]: data } };
        drawLatest();
      }
      history.add(event);
    },
    onState(state, first) {
      history.setLive(state);
      // After a gap in the stream, the history API has what it missed.
      if (state === "live" && !first) history.load().catch(() => {});
    },
  });
  try {
    await history.load();
  } catch (error) {
    close();
    throw error;
  }
  return () => {
    close();
    history.stop();
  };
}

// ---- labels --------------------------------------------------------------------------------------

function sortedLabels(labels) {
  return Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

function labelList(labels) {
  const entries = sortedLabels(labels);
  if (!entries.length) return h("p", { class: "empty-note" }, "No labels.");
  return h(
    "dl",
    { class: "facts" },
    entries.map(([key, value]) => [h("dt", {}, key), h("dd", {}, value || "—")]),
  );
}

/** Add, change or remove labels with `:batchUpdate` (each change emits a `labelsChanged` event). */
function labelEditor({ project, device, onChanged, announce }) {
  const target = device.name;
  async function change(body, done) {
    const answer = await api("POST", `projects/${encodeURIComponent(project)}/devices:batchUpdate`, {
      devices: [target],
      ...body,
    });
    const failed = answer?.batchErrors?.[0];
    if (failed) throw new ApiFailure(400, failed.status?.message ?? "The change was refused.");
    await onChanged();
    announce(done);
  }

  const rows = sortedLabels(device.labels).map(([key, value]) => {
    const input = h("input", { type: "text", value, id: uid("label-value") });
    const error = fieldError(input);
    const save = h(
      "button",
      { type: "button", class: "small", "aria-label": `Save label ${key}` },
      "Save",
    );
    const remove = h(
      "button",
      { type: "button", class: "small", "aria-label": `Remove label ${key}` },
      "Remove",
    );
    save.addEventListener("click", async () => {
      error.clear();
      save.disabled = true;
      try {
        await change({ addLabels: { [key]: input.value } }, `Label ${key} saved.`);
      } catch (failure) {
        error.show(failure.message);
      } finally {
        save.disabled = false;
      }
    });
    remove.addEventListener("click", async () => {
      error.clear();
      remove.disabled = true;
      try {
        await change({ removeLabels: [key] }, `Label ${key} removed.`);
      } catch (failure) {
        error.show(failure.message);
        remove.disabled = false;
      }
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row", class: "mono" }, key),
      h(
        "td",
        {},
        h("label", { for: input.id, class: "visually-hidden" }, `Value of label ${key}`),
        input,
        error.el,
      ),
      h("td", { class: "row-actions" }, save, remove),
    );
  });

  const keyInput = h("input", { type: "text", autocomplete: "off", required: true });
  const valueInput = h("input", { type: "text", autocomplete: "off" });
  const keyError = fieldError(keyInput);
  const add = h("button", { type: "submit", class: "primary" }, "Add label");
  const form = h(
    "form",
    { class: "label-add" },
    h("h3", {}, "Add a label"),
    h("div", { class: "label-add-fields" }, field("Label key", keyInput), field("Label value", valueInput)),
    keyError.el,
    h("div", { class: "actions" }, add),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    keyError.clear();
    const key = keyInput.value.trim();
    if (!key) {
      keyError.show("Give the label a key.");
      keyInput.focus();
      return;
    }
    add.disabled = true;
    try {
      await change({ addLabels: { [key]: valueInput.value } }, `Label ${key} added.`);
    } catch (failure) {
      keyError.show(failure.message);
      add.disabled = false;
    }
  });

  return h(
    "div",
    {},
    rows.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "labels" },
            h("caption", { class: "hint" }, "Labels (name is the display name, description the description)"),
            h(
              "thead",
              {},
              h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "Actions")),
            ),
            h("tbody", {}, rows),
          ),
        )
      : h("p", { class: "empty-note" }, "No labels yet."),
    form,
  );
}

// ---- event history -------------------------------------------------------------------------------

/** When the event's value was measured (its data's `updateTime`, which a publisher may set), else
 * when it was received; in ms. The charts and the table are in measurement time. */
function measured(event) {
  const data = eventData(event);
  const at = new Date(data?.updateTime ?? event.timestamp).getTime();
  return Number.isFinite(at) ? at : new Date(event.timestamp).getTime();
}

function historyView({ project, id, eventTypes }) {
  const range = h(
    "select",
    { id: uid("range") },
    RANGES.map((r) => h("option", { value: r.value }, r.text)),
  );
  const type = h(
    "select",
    { id: uid("event-type") },
    h("option", { value: "" }, "All event types"),
    eventTypes.map((t) => h("option", { value: t }, eventName(t))),
  );
  const live = h("p", { class: "live-state hint" }, "");
  const charts = h("div", { class: "charts" });
  const table = h("div", {}, h("p", { class: "loading" }, "Loading events…"));
  const el = section(
    "Event history",
    h("div", { class: "history-controls" }, field("Time range", range), field("Event type", type)),
    live,
    charts,
    table,
  );

  let loaded = []; // the range's events from the history API, oldest first
  const streamed = new Map(); // eventId → event that arrived on the stream since the page opened
  let generation = 0;
  let stopped = false;

  function span() {
    const seconds = RANGES.find((r) => r.value === range.value)?.seconds ?? 3600;
    const to = Date.now();
    return { from: to - seconds * 1000, to, text: range.selectedOptions[0]?.textContent ?? "" };
  }

  async function load() {
    const mine = ++generation;
    const { from, to } = span();
    const query = {
      startTime: new Date(from).toISOString(),
      endTime: new Date(to).toISOString(),
      pageSize: "100",
    };
    if (type.value) query.eventTypes = type.value;
    replace(table, h("p", { class: "loading" }, "Loading events…"));
    const events = await listAll(`${devicePath(project, id)}/events`, "events", query);
    if (mine !== generation || stopped) return;
    loaded = events;
    draw();
  }

  function current() {
    const { from, to } = span();
    const byId = new Map();
    for (const event of [...loaded, ...streamed.values()]) {
      const at = new Date(event.timestamp).getTime();
      if (at < from || (type.value && event.eventType !== type.value)) continue;
      byId.set(event.eventId, event);
    }
    const events = [...byId.values()].sort((a, b) => measured(a) - measured(b));
    return { events, from, to };
  }

  function draw() {
    const { events, from, to } = current();
    const { text } = span();
    // A chart per numeric type with values in the range (a device's battery and signal included).
    const series = eventTypes
      .filter((t) => NUMERIC[t])
      .map((t) => ({
        t,
        points: events
          .filter((e) => e.eventType === t)
          .map((e) => ({ time: measured(e), value: numericValue(t, eventData(e)) }))
          .filter((p) => p.value !== null && p.time >= from && p.time <= to),
      }))
      .filter(({ points }) => points.length);
    replace(
      charts,
      series.map(({ t, points }) => {
        const unit = NUMERIC[t].unit ? ` (${NUMERIC[t].unit})` : "";
        return h(
          "figure",
          { class: "chart-figure" },
          lineChart(`${NUMERIC[t].label}${unit}, ${text.toLowerCase()}`, points, { from, to }),
          h("figcaption", { class: "hint" }, `${NUMERIC[t].label}${unit}: ${points.length} values`),
        );
      }),
    );
    if (!events.length) {
      replace(table, h("p", { class: "empty-note" }, "No events in this time range."));
      return;
    }
    const newest = events.slice(-TABLE_ROWS).reverse();
    replace(
      table,
      events.length > TABLE_ROWS ? h("p", { class: "hint" }, `The newest ${TABLE_ROWS} of ${events.length} events.`) : null,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "history" },
          h("caption", { class: "hint" }, "Events, newest first"),
          h(
            "thead",
            {},
            h("tr", {}, h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Event type"), h("th", { scope: "col" }, "Value")),
          ),
          h(
            "tbody",
            {},
            newest.map((e) =>
              h(
                "tr",
                {},
                h("td", {}, formatTime(new Date(measured(e)).toISOString())),
                h("td", {}, eventName(e.eventType)),
                h("td", {}, describeData(e.eventType, eventData(e))),
              ),
            ),
          ),
        ),
      ),
    );
  }

  range.addEventListener("change", () => load().catch((error) => showError(error)));
  type.addEventListener("change", () => load().catch((error) => showError(error)));

  function showError(error) {
    if (!(error instanceof ApiFailure && error.status === 401)) {
      replace(table, h("p", { class: "error" }, `Events could not be loaded: ${error.message}`));
    }
  }

  return {
    el,
    load,
    add(event) {
      streamed.set(event.eventId, event);
      if (generation > 0) draw();
    },
    setLive(state) {
      live.textContent = state === "live" ? "Live updates: on" : state === "reconnecting" ? "Live updates: reconnecting…" : "";
    },
    stop() {
      stopped = true;
    },
  };
}
