// The one way Studio talks to the server: the public /v2 API and /auth/session, with the session
// cookie, and the CSRF token on every write (the server refuses a write without it).

/** A failed request: `.status` (HTTP), `.message` (the server's), `.field` (the input it concerns). */
export class ApiFailure extends Error {
  constructor(status, message, field = null) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.field = field;
  }
}

let csrfToken = null;
let onUnauthorized = () => {};

/** Called (with no arguments) when the server answers 401: the session is gone. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

// Until every 400 names its field, the field is the path the message starts with
// ("httpConfig.url must be ...", "httpConfig.headers: 'Host' is set by Conduit ...").
const LEADING_PATH = /^([A-Za-z][\w]*(?:\.[A-Za-z]\w*)*)(?: must\b|:| is\b)/;

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  const message = body?.error ?? `${response.status} ${response.statusText}`;
  const field = body?.field ?? (response.status === 400 ? (message.match(LEADING_PATH)?.[1] ?? null) : null);
  return new ApiFailure(response.status, message, field);
}

async function request(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiFailure(0, `The server cannot be reached (${error.message}).`);
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * api("GET", "projects/p/dataconnectors") → the parsed JSON answer (null for 204).
 * A path without a leading "/" is under /v2. Throws ApiFailure; a 401 also runs the
 * unauthorized handler (back to the sign-in view).
 */
export async function api(method, path, body) {
  const url = path.startsWith("/") ? path : `/v2/${path}`;
  try {
    return await request(method, url, body);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) onUnauthorized();
    throw error;
  }
}

/** Every item of a paginated list (`key` is the list's field, e.g. "dataConnectors"). */
export async function listAll(path, key, query = {}) {
  const items = [];
  let pageToken = "";
  do {
    const params = new URLSearchParams(query);
    if (pageToken) params.set("pageToken", pageToken);
    const qs = params.toString();
    const page = await api("GET", qs ? `${path}?${qs}` : path);
    items.push(...(page[key] ?? []));
    pageToken = page.nextPageToken ?? "";
  } while (pageToken);
  return items;
}

/** The signed-in user ({user, csrfToken}) or null. */
export async function session() {
  try {
    const answer = await request("GET", "/auth/session");
    csrfToken = answer.csrfToken;
    return answer;
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return null;
    throw error;
  }
}

/** Sign in; resolves to {user, csrfToken}, or throws ApiFailure (401 wrong password, 429 ...). */
export async function signIn(email, password) {
  const answer = await request("POST", "/auth/session", { email, password });
  csrfToken = answer.csrfToken;
  return answer;
}

/** End the session on the server (the cookie goes with it). */
export async function signOut() {
  try {
    await request("DELETE", "/auth/session");
  } finally {
    csrfToken = null;
  }
}

let schemas = null;
/**
 * The API's own description of its inputs (`components.schemas` of /v2/openapi.json), fetched
 * once: event types, device types and event data shapes come from the validator itself.
 */
export function apiSchemas() {
  schemas ??= request("GET", "/v2/openapi.json").then(
    (document) => document.components.schemas,
    (error) => {
      schemas = null;
      throw error;
    },
  );
  return schemas;
}
