// Building the page from data without ever parsing data as HTML: every text goes in as a text node,
// so a display name such as "<img onerror=...>" stays a string (and the CSP would refuse it anyway).

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "htmlFor"]);

/**
 * h("button", {class: "primary", onclick: save}, "Save") → an element.
 * Attributes: `on<event>` functions become listeners; value/checked/disabled/hidden/selected are set
 * as properties; null, undefined and false skip the attribute. Children: nodes, strings, numbers,
 * nested arrays; null/undefined/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (PROPERTIES.has(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children (same rules as `h`). */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace everything inside `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let counter = 0;
/** A document-unique id, for label/aria-describedby links. */
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control: <div class="field"><label for=...>text</label>control hint</div>. */
export function field(text, control, hint) {
  if (!control.id) control.id = uid("field");
  const hintEl = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintEl) describe(control, hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control, hintEl);
}

/** A switch: a checkbox with role="switch" and its label, on one line. */
export function toggle(text, checked, attrs = {}) {
  const input = h("input", { type: "checkbox", role: "switch", id: uid("switch"), checked, ...attrs });
  return { input, el: h("div", { class: "switch" }, input, h("label", { for: input.id }, text)) };
}

/** Add an id to the element's aria-describedby list. */
export function describe(el, id) {
  const ids = new Set((el.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
  ids.add(id);
  el.setAttribute("aria-describedby", [...ids].join(" "));
}

/** Remove an id from the element's aria-describedby list. */
export function undescribe(el, id) {
  const ids = (el.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== id);
  if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
  else el.removeAttribute("aria-describedby");
}

/** A short local date and time for an RFC 3339 timestamp. */
export function formatTime(rfc3339) {
  if (!rfc3339) return "";
  const date = new Date(rfc3339);
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleString();
}

/** The last path segment of a resource name: "projects/p/devices/d" → "d". */
export function idOf(name) {
  return String(name ?? "")
    .split("/")
    .pop();
}

/**
 * Ask before something that cannot be undone, in a modal <dialog> (keyboard and screen-reader
 * friendly, unlike window.confirm). Resolves true when the confirm button was pressed.
 */
export function confirmDialog({ title, message, confirm = "Delete", cancel = "Cancel" }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": titleId });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    append(dialog, [
      h("h2", { id: titleId }, title),
      h("p", {}, message),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirm),
        h("button", { type: "button", autofocus: true, onclick: () => done(false) }, cancel),
      ),
    ]);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * The error slot of a field: a `.field-error` element (placed right after the control by the
 * caller) that is linked to `targets` through aria-describedby while it holds a message.
 */
export function fieldError(...targets) {
  const el = h("p", { class: "field-error", id: uid("error") });
  const linked = new Set();
  return {
    el,
    show(message, ...extra) {
      el.textContent = message;
      for (const target of [...targets, ...extra]) {
        describe(target, el.id);
        target.setAttribute("aria-invalid", "true");
        linked.add(target);
      }
    },
    clear() {
      el.textContent = "";
      for (const target of linked) {
        undescribe(target, el.id);
        target.removeAttribute("aria-invalid");
      }
      linked.clear();
    },
  };
}

/** A <section class="panel"> named by its <h2> heading (a landmark screen readers list). */
export function panel(title, ...children) {
  const headingId = uid("section");
  return h(
    "section",
    { class: "panel", "aria-labelledby": headingId },
    h("h2", { id: headingId }, title),
    children,
  );
}
