// Devices: every device of the project with its labels and latest reported values, kept current by
// the project's event stream while the page is open (no polling, no reload).

import { listAll } from "../api.js";
import { h, idOf, replace } from "../dom.js";
import { followEvents } from "../event-stream.js";
import { describeData, deviceTypeName, displayName, eventData, eventName } from "../readings.js";

const LIVE_TEXT = {
  connecting: "Live updates: connecting…",
  live: "Live updates: on",
  reconnecting: "Live updates: reconnecting…",
  stopped: "Live updates: off (reload the page to try again)",
};

export function devicePath(project, id = "") {
  const base = `projects/${encodeURIComponent(project)}/devices`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

export function deviceHash(project, id) {
  return `#/p/${encodeURIComponent(project)}/devices/${encodeURIComponent(id)}`;
}

/** Labels as small "key: value" chips; `skip` names keys shown elsewhere (the display name). */
export function labelChips(labels, skip = ["name"]) {
  const entries = Object.entries(labels ?? {})
    .filter(([key]) => !skip.includes(key))
    .sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h("span", { class: "empty-note" }, "—");
  return h(
    "ul",
    { class: "chips" },
    entries.map(([key, value]) => h("li", { class: "chip" }, value ? `${key}: ${value}` : key)),
  );
}

/** The latest value of each event type the device has reported, one per line. */
export function latestValues(reported) {
  const seen = Object.entries(reported ?? {}).filter(([, data]) => data);
  if (!seen.length) return h("span", { class: "empty-note" }, "Nothing reported yet");
  return h(
    "ul",
    { class: "readings" },
    seen.map(([type, data]) =>
      h("li", { "data-event-type": type }, h("span", { class: "reading-name" }, `${eventName(type)}: `), describeData(type, data)),
    ),
  );
}

export async function render(main, _params, ctx) {
  const { project } = ctx;
  const live = h("p", { class: "live-state hint" }, LIVE_TEXT.connecting);
  const body = h("div", {}, h("p", { class: "loading" }, "Loading devices…"));
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Devices")),
    h("p", { class: "hint" }, "Every device of this project with its latest values, updated as events arrive."),
    live,
    body,
  );

  const rows = new Map(); // device id → {device, el}
  let stopped = false;

  function draw(devices) {
    rows.clear();
    if (!devices.length) {
      replace(
        body,
        h(
          "p",
          { class: "empty-note" },
          "No devices yet. Create emulated devices on the ",
          h("a", { href: `#/p/${encodeURIComponent(project)}/emulator` }, "Emulator"),
          " page.",
        ),
      );
      return;
    }
    devices.sort((a, b) => displayName(a).localeCompare(displayName(b)));
    for (const device of devices) rows.set(idOf(device.name), { device, el: h("tr") });
    for (const row of rows.values()) fillRow(row);
    replace(
      body,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("caption", { class: "hint" }, "Devices and their latest reported values"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Display name"),
              h("th", { scope: "col" }, "Type"),
              h("th", { scope: "col" }, "Labels"),
              h("th", { scope: "col" }, "Latest values"),
            ),
          ),
          h("tbody", {}, [...rows.values()].map((row) => row.el)),
        ),
      ),
    );
  }

  function fillRow({ device, el }) {
    const id = idOf(device.name);
    replace(
      el,
      h("th", { scope: "row" }, h("a", { href: deviceHash(project, id) }, displayName(device))),
      h("td", {}, deviceTypeName(device.type)),
      h("td", {}, labelChips(device.labels)),
      h("td", {}, latestValues(device.reported)),
    );
  }

  let buffered = null; // events that arrived while the list was loading, applied after it
  let loading = null;
  let again = false;

  async function load() {
    buffered = [];
    try {
      const devices = await listAll(devicePath(project), "devices");
      if (stopped) return;
      draw(devices);
      for (const event of buffered) apply(event);
    } finally {
      buffered = null;
    }
  }

  /** Load the list (again: a new device appeared, or the stream was down a while), one load at a
   * time; asked for during a load, it loads once more after it. */
  function reload() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again && !stopped);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function apply(event) {
    const row = rows.get(idOf(event.targetName));
    if (!row) {
      reload().catch(() => {});
      return;
    }
    const data = eventData(event);
    if (event.eventType === "labelsChanged") {
      const labels = { ...row.device.labels, ...(data?.added ?? {}), ...(data?.modified ?? {}) };
      for (const key of data?.removed ?? []) delete labels[key];
      row.device = { ...row.device, labels };
    } else if (data) {
      row.device = { ...row.device, reported: { ...row.device.reported, [event.eventType]: data } };
    }
    fillRow(row);
  }

  const close = followEvents(`${devicePath(project)}:stream`, {
    onEvent(event) {
      if (buffered) buffered.push(event);
      else apply(event);
    },
    onState(state) {
      live.textContent = LIVE_TEXT[state];
      // Whatever was published before the stream (re)opened is in a fresh list.
      if (state === "live") reload().catch(() => {});
    },
  });
  try {
    await reload();
  } catch (error) {
    close();
    throw error;
  }
  return () => {
    stopped = true;
    close();
  };
}
