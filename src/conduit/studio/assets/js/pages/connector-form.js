// The editable parts of a connector, "Data Connector" and "Payload configuration", as one form:
// create or update (PATCH with every editable field), synchronize, delete. A 400 shows beside the
// field it names; the form keeps what the user typed.

import { ApiFailure, api } from "../api.js";
import { confirmDialog, field, fieldError, h, idOf, panel, toggle, uid } from "../dom.js";
import { connectorPath } from "./connectors.js";

/** An editable list of rows (label keys, headers): add, remove, and labels renumbered to match. */
function rowList({ addText, makeRow, initial }) {
  const rows = [];
  const container = h("div", { class: "rows" });
  function renumber() {
    rows.forEach((row, i) => row.number(i + 1));
  }
  function add(value, focus = false) {
    const row = makeRow(value, () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      renumber();
      addButton.focus();
    });
    rows.push(row);
    container.append(row.el);
    renumber();
    if (focus) row.focus();
  }
  const addButton = h(
    "button",
    { type: "button", class: "small", onclick: () => add(undefined, true) },
    addText,
  );
  for (const value of initial) add(value);
  return { rows, container, addButton };
}

function labelRow(value = "", onRemove) {
  const input = h("input", { type: "text", value, autocomplete: "off", spellcheck: "false" });
  const remove = h("button", { type: "button", class: "small", onclick: onRemove }, "Remove");
  return {
    el: h("div", { class: "row" }, input, remove),
    input,
    number(n) {
      input.setAttribute("aria-label", `Label key ${n}`);
      remove.setAttribute("aria-label", `Remove label key ${n}`);
    },
    focus: () => input.focus(),
  };
}

function headerRow([name, value] = ["", ""], onRemove) {
  const nameInput = h("input", { type: "text", value: name, autocomplete: "off", spellcheck: "false" });
  const valueInput = h("input", { type: "text", value, autocomplete: "off", spellcheck: "false" });
  const remove = h("button", { type: "button", class: "small", onclick: onRemove }, "Remove");
  return {
    el: h("div", { class: "row" }, nameInput, valueInput, remove),
    nameInput,
    valueInput,
    number(n) {
      nameInput.setAttribute("aria-label", `Header name ${n}`);
      valueInput.setAttribute("aria-label", `Header value ${n}`);
      remove.setAttribute("aria-label", `Remove header ${n}`);
    },
    focus: () => nameInput.focus(),
  };
}

export function connectorForm({ ctx, connector, id, eventTypes, listHash }) {
  const isNew = !id;
  const path = connectorPath(ctx.project, id);
  const config = connector.httpConfig ?? {};
  const secretSet = Boolean(config.signatureSecret);

  // "Data Connector"
  const displayName = h("input", { type: "text", value: connector.displayName, autocomplete: "off" });
  const url = h("input", {
    type: "url",
    value: config.url,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "https://",
  });
  const enabled = toggle("Data Connector enabled", connector.status === "ACTIVE");
  const secret = h("input", { type: "password", autocomplete: "new-password", spellcheck: "false" });
  const removeSecret = secretSet ? h("input", { type: "checkbox", id: uid("remove-secret") }) : null;
  removeSecret?.addEventListener("change", () => {
    secret.disabled = removeSecret.checked;
    if (removeSecret.checked) secret.value = "";
  });

  // "Payload configuration"
  const forwardAll = toggle("Forward All Events", connector.events.length === 0);
  const eventBoxes = eventTypes.map((type) => ({
    type,
    input: h("input", {
      type: "checkbox",
      value: type,
      checked: connector.events.includes(type),
      id: uid("event"),
    }),
  }));
  const eventsSet = h(
    "fieldset",
    { hidden: forwardAll.input.checked },
    h("legend", {}, "Event types to forward"),
    h(
      "div",
      { class: "checkbox-grid" },
      eventBoxes.map(({ type, input }) => h("label", { for: input.id }, input, type)),
    ),
  );
  forwardAll.input.addEventListener("change", () => {
    eventsSet.hidden = forwardAll.input.checked;
  });
  const labels = rowList({ addText: "Add label key", makeRow: labelRow, initial: connector.labels });
  const headers = rowList({
    addText: "Add header",
    makeRow: headerRow,
    initial: Object.entries(config.headers ?? {}),
  });
  const labelsSet = h(
    "fieldset",
    {},
    h("legend", {}, "Label keys"),
    h("p", { class: "hint" }, "The values of these device labels are sent with each event."),
    labels.container,
    labels.addButton,
  );
  const headersSet = h(
    "fieldset",
    {},
    h("legend", {}, "Custom headers"),
    h("p", { class: "hint" }, "Sent with every push, e.g. an API key your endpoint expects."),
    headers.container,
    headers.addButton,
  );

  // Errors: one slot per field, right after it.
  const errors = {
    displayName: fieldError(displayName),
    url: fieldError(url),
    status: fieldError(enabled.input),
    secret: fieldError(secret),
    events: fieldError(eventsSet),
    labels: fieldError(labelsSet),
    headers: fieldError(headersSet),
  };
  const fieldSlots = {
    displayName: errors.displayName,
    status: errors.status,
    events: errors.events,
    labels: errors.labels,
    httpConfig: errors.url,
    "httpConfig.url": errors.url,
    "httpConfig.signatureSecret": errors.secret,
    "httpConfig.headers": errors.headers,
  };
  /** The slot of a field path, or of the nearest enclosing one ("httpConfig.headers.Host"). */
  function slotFor(path) {
    const parts = String(path ?? "").split(/[.[]/);
    for (let n = parts.length; n > 0; n -= 1) {
      const slot = fieldSlots[parts.slice(0, n).join(".")];
      if (slot) return slot;
    }
    return null;
  }
  eventsSet.append(errors.events.el);
  labelsSet.append(errors.labels.el);
  headersSet.append(errors.headers.el);
  const formError = h("p", { class: "error", role: "alert" });

  function withError(fieldEl, slot) {
    fieldEl.querySelector("input").after(slot.el);
    return fieldEl;
  }
  const secretHint = secretSet
    ? "A signature secret is set. Leave this empty to keep it, or type a new one to replace it."
    : "Optional. Each push is then signed with it (a JWT in the X-Dt-Signature header).";
  const secretField = withError(field("Signature secret", secret, secretHint), errors.secret);
  if (removeSecret) {
    secretField.append(
      h(
        "label",
        { class: "check", for: removeSecret.id },
        removeSecret,
        "Remove the secret (send pushes unsigned)",
      ),
    );
  }
  enabled.el.append(errors.status.el);
  const statusHint =
    connector.status === "SYSTEM_DISABLED"
      ? h(
          "p",
          { class: "hint" },
          "The system disabled this Data Connector. Switch it on and update to enable it again.",
        )
      : null;

  const submit = h(
    "button",
    { type: "submit", class: "primary" },
    isNew ? "Create Data Connector" : "Update Data Connector",
  );
  const actions = h("div", { class: "actions" }, submit);
  if (!isNew) {
    actions.append(h("button", { type: "button", onclick: synchronize }, "Synchronize Data Connector"));
    if (ctx.permissions.has("dataconnector.delete")) {
      actions.append(
        h("button", { type: "button", class: "danger", onclick: remove }, "Delete Data Connector"),
      );
    }
  }

  const form = h(
    "form",
    { novalidate: true, "aria-label": isNew ? "New Data Connector" : "Data Connector settings" },
    panel(
      "Data Connector",
      withError(field("Display name", displayName), errors.displayName),
      withError(
        field("Endpoint URL", url, "Where events are sent, e.g. https://example.com/dt-events"),
        errors.url,
      ),
      enabled.el,
      statusHint,
      secretField,
    ),
    panel("Payload configuration", forwardAll.el, eventsSet, labelsSet, headersSet),
    formError,
    actions,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });

  function clearErrors() {
    for (const slot of Object.values(errors)) slot.clear();
    formError.textContent = "";
  }

  function showFailure(failure) {
    const slot = failure instanceof ApiFailure ? slotFor(failure.field) : null;
    if (!slot) {
      formError.textContent = failure.message;
      return;
    }
    const extra = [];
    if (slot === errors.headers) {
      // Point at the row the message names ("'Host' is set by Conduit ...").
      const named = failure.message.match(/'([^']+)'/)?.[1];
      const row = headers.rows.find((r) => r.nameInput.value.trim() === named);
      if (row) extra.push(row.nameInput);
    }
    slot.show(failure.message, ...extra);
    formError.textContent = "The Data Connector was not saved: see the message next to the field.";
  }

  /** The body from the form, or null (with the errors shown) when the form cannot be sent. */
  function collect() {
    let ok = true;
    const events = forwardAll.input.checked
      ? []
      : eventBoxes.filter((b) => b.input.checked).map((b) => b.type);
    if (!forwardAll.input.checked && !events.length) {
      errors.events.show("Choose at least one event type, or switch Forward All Events on.");
      ok = false;
    }
    const headerMap = {};
    for (const [i, row] of headers.rows.entries()) {
      const name = row.nameInput.value.trim();
      const value = row.valueInput.value;
      if (!name && !value) continue;
      if (!name) {
        errors.headers.show(`Header ${i + 1} has a value but no name.`, row.nameInput);
        ok = false;
      } else if (Object.hasOwn(headerMap, name)) {
        errors.headers.show(`The header ${name} is listed twice.`, row.nameInput);
        ok = false;
      }
      headerMap[name] = value;
    }
    if (!ok) return null;
    const httpConfig = { url: url.value.trim(), headers: headerMap };
    if (removeSecret?.checked) httpConfig.signatureSecret = "";
    else if (secret.value) httpConfig.signatureSecret = secret.value;
    const body = {
      displayName: displayName.value.trim(),
      events,
      labels: labels.rows.map((r) => r.input.value.trim()).filter(Boolean),
      httpConfig,
    };
    // The switch says on or off; SYSTEM_DISABLED stays as it is until the user switches it on.
    const status = enabled.input.checked
      ? "ACTIVE"
      : connector.status === "ACTIVE"
        ? "USER_DISABLED"
        : connector.status;
    if (status !== connector.status) body.status = status;
    return body;
  }

  async function save() {
    clearErrors();
    const body = collect();
    if (!body) {
      formError.textContent = "The Data Connector was not saved: see the message next to the field.";
      return;
    }
    submit.disabled = true;
    ctx.announce(isNew ? "Creating Data Connector…" : "Saving Data Connector…");
    try {
      if (isNew) {
        const created = await api("POST", path, body);
        ctx.navigate(`${listHash}/${encodeURIComponent(idOf(created.name))}`, {
          message: "Data Connector created.",
        });
      } else {
        await api("PATCH", path, body);
        ctx.navigate(location.hash, { message: "Data Connector updated." });
      }
    } catch (failure) {
      ctx.announce("");
      showFailure(failure);
      submit.disabled = false;
    }
  }

  async function synchronize(event) {
    const button = event.currentTarget;
    clearErrors();
    button.disabled = true;
    ctx.announce("Starting synchronization…");
    try {
      await api("POST", `${path}:sync`);
      ctx.announce("Synchronization started: the latest event of each type of every device is being sent.");
    } catch (failure) {
      ctx.announce("");
      formError.textContent = failure.message;
    } finally {
      button.disabled = false;
    }
  }

  async function remove() {
    const name = connector.displayName || id;
    const sure = await confirmDialog({
      title: "Delete Data Connector?",
      message: `“${name}” stops forwarding at once, and events not yet delivered are dropped. This cannot be undone.`,
      confirm: "Delete",
    });
    if (!sure) return;
    try {
      await api("DELETE", path);
      ctx.navigate(listHash, { message: `Data Connector “${name}” deleted.` });
    } catch (failure) {
      formError.textContent = failure.message;
    }
  }

  return form;
}
