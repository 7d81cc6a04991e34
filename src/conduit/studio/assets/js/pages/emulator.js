// The Emulator: create and delete emulated devices, touch one with a click, and publish any event
// its type reports from a form. Device types and the data fields of each event type come from the
// API's own schemas (/v2/openapi.json), so the form offers exactly what the server accepts.

import { ApiFailure, api, apiSchemas, listAll } from "../api.js";
import { confirmDialog, field, fieldError, h, idOf, panel, replace } from "../dom.js";

// Which event types each device type reports (DT's emulator rules, SPEC §11; the server refuses
// any other with a 400). The OpenAPI document describes the shapes but not this pairing.
const SENSOR_COMMON = ["touch", "networkStatus", "batteryStatus"];
const DEVICE_EVENTS = {
  temperature: ["temperature", ...SENSOR_COMMON, "probeWireStatus"],
  touch: SENSOR_COMMON,
  proximity: ["objectPresent", ...SENSOR_COMMON],
  humidity: ["humidity", ...SENSOR_COMMON],
  proximityCounter: ["objectPresentCount", ...SENSOR_COMMON],
  touchCounter: ["touchCount", ...SENSOR_COMMON],
  waterDetector: ["waterPresent", ...SENSOR_COMMON],
  co2: ["co2", "pressure", "temperature", "humidity", ...SENSOR_COMMON],
  motion: ["motion", ...SENSOR_COMMON],
  deskOccupancy: ["deskOccupancy", ...SENSOR_COMMON],
  contact: ["contact", ...SENSOR_COMMON],
  ccon: ["connectionStatus", "ethernetStatus", "cellularStatus"],
};

function devicesPath(project) {
  return `projects/${encodeURIComponent(project)}/devices`;
}

function displayName(device) {
  return device.labels?.name || idOf(device.name);
}

/** "relativeHumidity" → "Relative humidity". */
function humanize(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The data schema of one event type, from the `:publish` body schema (`oneOf` per type). */
function eventSchema(schemas, eventType) {
  for (const option of schemas.PublishInput?.oneOf ?? []) {
    if (option.properties?.[eventType]) return option.properties[eventType];
  }
  return null;
}

export async function render(main, _params, ctx) {
  const { project, permissions } = ctx;
  const can = {
    create: permissions.has("emulator.create"),
    publish: permissions.has("emulator.update"),
    delete: permissions.has("emulator.delete"),
  };
  main.append(
    h("h1", {}, "Emulator"),
    h(
      "p",
      { class: "hint" },
      "Emulated devices behave like real ones: their events are stored, streamed and forwarded by Data Connectors.",
    ),
  );
  const [schemas, devices] = await Promise.all([
    apiSchemas(),
    listAll(devicesPath(project), "devices", { label_filters: "virtual-sensor" }),
  ]);
  const reload = (message) => ctx.navigate(location.hash, { message });

  if (can.create) main.append(createSection(ctx, schemas, reload));
  main.append(devicesSection(ctx, devices, can, reload));
  if (can.publish && devices.length) main.append(publishSection(ctx, schemas, devices));
  if (!can.create && !can.publish && !can.delete) {
    main.append(
      h("p", { class: "hint" }, "Your role in this project can view emulated devices but not change them."),
    );
  }
  return null;
}

function createSection(ctx, schemas, reload) {
  const types = schemas.EmulatedDeviceInput?.properties?.type?.enum ?? Object.keys(DEVICE_EVENTS);
  const type = h(
    "select",
    {},
    types.map((t) => h("option", { value: t }, t)),
  );
  const name = h("input", { type: "text", autocomplete: "off" });
  const nameError = fieldError(name);
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create device");
  const nameField = field("Display name", name, "Optional; stored as the device's name label.");
  name.after(nameError.el);
  const form = h(
    "form",
    { novalidate: true, "aria-label": "Create an emulated device" },
    field("Device type", type),
    nameField,
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    nameError.clear();
    error.textContent = "";
    const labels = name.value.trim() ? { name: name.value.trim() } : {};
    submit.disabled = true;
    ctx.announce("Creating device…");
    try {
      const device = await api("POST", devicesPath(ctx.project), { type: type.value, labels });
      reload(`Created the emulated ${device.type} device “${displayName(device)}”.`);
    } catch (failure) {
      ctx.announce("");
      if (failure instanceof ApiFailure && failure.field?.startsWith("labels"))
        nameError.show(failure.message);
      else error.textContent = failure.message;
      submit.disabled = false;
    }
  });
  return panel("Create an emulated device", form);
}

function devicesSection(ctx, devices, can, reload) {
  if (!devices.length)
    return panel("Emulated devices", h("p", { class: "empty-note" }, "No emulated devices yet."));
  const error = h("p", { class: "error", role: "alert" });

  async function touch(device, button) {
    error.textContent = "";
    button.disabled = true;
    ctx.announce("Publishing…");
    try {
      await api("POST", `${devicesPath(ctx.project)}/${encodeURIComponent(idOf(device.name))}:publish`, {
        touch: {},
      });
      ctx.announce(`Published a touch event from “${displayName(device)}”.`);
    } catch (failure) {
      ctx.announce("");
      error.textContent = failure.message;
    } finally {
      button.disabled = false;
    }
  }

  async function remove(device) {
    const name = displayName(device);
    const sure = await confirmDialog({
      title: "Delete emulated device?",
      message: `“${name}” and its event history are deleted. This cannot be undone.`,
      confirm: "Delete",
    });
    if (!sure) return;
    try {
      await api("DELETE", `${devicesPath(ctx.project)}/${encodeURIComponent(idOf(device.name))}`);
      reload(`Deleted the emulated device “${name}”.`);
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  const rows = devices.map((device) => {
    const name = displayName(device);
    const actions = h("td", { class: "actions-cell" });
    if (can.publish && (DEVICE_EVENTS[device.type] ?? []).includes("touch")) {
      const button = h("button", { type: "button", class: "small", "aria-label": `Touch ${name}` }, "Touch");
      button.addEventListener("click", () => touch(device, button));
      actions.append(button, " ");
    }
    if (can.delete) {
      actions.append(
        h(
          "button",
          { type: "button", class: "small", "aria-label": `Delete ${name}`, onclick: () => remove(device) },
          "Delete",
        ),
      );
    }
    return h(
      "tr",
      {},
      h(
        "th",
        { scope: "row" },
        h(
          "a",
          { href: `#/p/${encodeURIComponent(ctx.project)}/devices/${encodeURIComponent(idOf(device.name))}` },
          name,
        ),
      ),
      h("td", {}, device.type),
      h("td", { class: "mono" }, idOf(device.name)),
      actions,
    );
  });
  return panel(
    "Emulated devices",
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { "aria-label": "Emulated devices" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Display name", "Type", "Device ID", "Actions"].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
    error,
  );
}

/** An input for one data field of an event, prefilled with a value the server accepts. */
function dataInput(schema) {
  if (schema.enum)
    return h(
      "select",
      {},
      schema.enum.map((v) => h("option", { value: v }, v)),
    );
  if (schema.type === "boolean") return h("input", { type: "checkbox" });
  if (schema.type === "number" || schema.type === "integer") {
    const { minimum: min, maximum: max } = schema;
    const start = min !== undefined && max !== undefined ? Math.round((min + max) / 2) : (min ?? 0);
    return h("input", {
      type: "number",
      step: schema.type === "integer" ? "1" : "any",
      min,
      max,
      value: String(start),
    });
  }
  return h("input", { type: "text", autocomplete: "off" });
}

function readInput(schema, input) {
  if (schema.type === "boolean") return input.checked;
  if (schema.type === "number" || schema.type === "integer")
    return input.value === "" ? null : Number(input.value);
  return input.value;
}

function publishSection(ctx, schemas, devices) {
  const device = h(
    "select",
    {},
    devices.map((d) => h("option", { value: idOf(d.name) }, `${displayName(d)} (${d.type})`)),
  );
  const eventType = h("select", {});
  const dataFields = h("div", { class: "data-fields" });
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Publish event");
  let inputs = []; // [{name, schema, input, error}]

  function chosenDevice() {
    return devices.find((d) => idOf(d.name) === device.value);
  }

  function fillEventTypes() {
    const supported = DEVICE_EVENTS[chosenDevice()?.type] ?? [];
    const previous = eventType.value;
    replace(
      eventType,
      supported.map((t) => h("option", { value: t, selected: t === previous }, t)),
    );
    fillFields();
  }

  function fillFields() {
    const schema = eventSchema(schemas, eventType.value);
    const required = new Set(schema?.required ?? []);
    inputs = Object.entries(schema?.properties ?? {})
      .filter(
        ([name, fieldSchema]) =>
          required.has(name) && fieldSchema.type !== "array" && fieldSchema.type !== "object",
      )
      .map(([name, fieldSchema]) => {
        const input = dataInput(fieldSchema);
        return { name, schema: fieldSchema, input, error: fieldError(input) };
      });
    replace(
      dataFields,
      inputs.length
        ? inputs.map(({ name, input, error: slot }) => {
            const el = field(humanize(name), input);
            input.after(slot.el);
            return el;
          })
        : h("p", { class: "hint" }, "This event type has no data to fill in."),
    );
  }

  device.addEventListener("change", fillEventTypes);
  eventType.addEventListener("change", fillFields);
  fillEventTypes();

  const form = h(
    "form",
    { novalidate: true, "aria-label": "Publish an event" },
    field("Device", device),
    field("Event type", eventType),
    dataFields,
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    for (const item of inputs) item.error.clear();
    const type = eventType.value;
    const data = Object.fromEntries(
      inputs.map(({ name, schema, input }) => [name, readInput(schema, input)]),
    );
    const target = chosenDevice();
    submit.disabled = true;
    ctx.announce("Publishing…");
    try {
      await api("POST", `${devicesPath(ctx.project)}/${encodeURIComponent(device.value)}:publish`, {
        [type]: data,
      });
      ctx.announce(`Published a ${type} event from “${displayName(target)}”.`);
    } catch (failure) {
      ctx.announce("");
      // "humidity.relativeHumidity must be between 0 and 100" → the Relative humidity field
      const name = failure instanceof ApiFailure ? failure.field?.split(".").pop() : null;
      const item = inputs.find((i) => i.name === name);
      if (item) item.error.show(failure.message);
      else error.textContent = failure.message;
    } finally {
      submit.disabled = false;
    }
  });
  return panel("Publish an event", form);
}
