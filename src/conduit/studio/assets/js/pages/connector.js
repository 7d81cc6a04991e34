// One Data Connector (or a new one), in the three parts DT's Studio shows: "Connection Status and
// Activity Overview" (connector-activity.js), "Data Connector" and "Payload configuration"
// (connector-form.js). People who may not change connectors see the same facts as text: no
// inputs, no buttons that would only be refused.

import { api, apiSchemas } from "../api.js";
import { h, idOf, panel } from "../dom.js";
import { activityOverview } from "./connector-activity.js";
import { connectorForm } from "./connector-form.js";
import { connectorPath } from "./connectors.js";

const NEW_CONNECTOR = {
  name: "",
  displayName: "",
  status: "ACTIVE",
  events: [],
  labels: [],
  httpConfig: { url: "", signatureSecret: "", headers: {} },
};

export async function render(main, params, ctx) {
  const { project, permissions } = ctx;
  const isNew = params.id === "new";
  const canEdit = permissions.has(isNew ? "dataconnector.create" : "dataconnector.update");
  const listHash = `#/p/${encodeURIComponent(project)}/dataconnectors`;
  main.append(h("p", { class: "back" }, h("a", { href: listHash }, "← Data Connectors")));

  if (isNew && !canEdit) {
    main.append(
      h("h1", {}, "Add Data Connector"),
      h("p", {}, "Your role in this project cannot create Data Connectors."),
    );
    return null;
  }
  const [connector, schemas] = await Promise.all([
    isNew ? structuredClone(NEW_CONNECTOR) : api("GET", connectorPath(project, params.id)),
    canEdit ? apiSchemas() : null,
  ]);
  const id = isNew ? "" : idOf(connector.name);
  main.append(h("h1", {}, isNew ? "Add Data Connector" : connector.displayName || id));

  let stop = null;
  if (isNew) {
    main.append(
      panel(
        "Connection Status and Activity Overview",
        h("p", { class: "empty-note" }, "Deliveries show here once the Data Connector is created."),
      ),
    );
  } else {
    const overview = activityOverview(project, connector);
    main.append(overview.el);
    stop = overview.stop;
  }

  if (canEdit) {
    const eventTypes = schemas?.DataConnectorInput?.properties?.events?.items?.enum ?? [];
    main.append(connectorForm({ ctx, connector, id, eventTypes, listHash }));
  } else {
    main.append(...readOnly(connector));
  }
  return stop;
}

function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

/** The same facts as text, for a role that may read connectors but not change them. Header
 * values are left out: they often hold the receiver's API key. */
function readOnly(connector) {
  const config = connector.httpConfig ?? {};
  const headerNames = Object.keys(config.headers ?? {});
  return [
    panel(
      "Data Connector",
      facts([
        ["Display name", connector.displayName || "—"],
        ["Endpoint URL", config.url],
        ["Data Connector enabled", connector.status === "ACTIVE" ? "Yes" : "No"],
        ["Signature secret", config.signatureSecret ? "Set" : "Not set"],
      ]),
    ),
    panel(
      "Payload configuration",
      facts([
        ["Forward All Events", connector.events.length ? "No" : "Yes"],
        ...(connector.events.length ? [["Event types", connector.events.join(", ")]] : []),
        ["Label keys", connector.labels.length ? connector.labels.join(", ") : "None"],
        ["Custom headers", headerNames.length ? headerNames.join(", ") : "None"],
      ]),
      h("p", { class: "hint" }, "Your role in this project can view Data Connectors but not change them."),
    ),
  ];
}
