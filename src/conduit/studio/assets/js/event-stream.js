// Following a project's (or one device's) live events: `GET …/devices:stream`, newline-delimited
// JSON, one `{"result":{"event":{...}}}` per line, for as long as the page shows them.
//
// fetch() with a stream reader rather than EventSource: it sends the session cookie the same way
// every other Studio request does, and it can be closed at once with an AbortController. A stream
// that ends or fails is opened again after a wait that doubles (1 s up to 30 s); a refusal (401,
// 403, 404) is final for this page.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
// The server sends a `ping` event after this much silence, so a dead connection is noticed.
const PING = "25s";

/**
 * followEvents(path, {onEvent, onState}) → close().
 * `path`: "projects/p/devices:stream" or "projects/p/devices/d:stream".
 * `onEvent(event)`: each event (pings are swallowed).
 * `onState(state, first)`: "connecting", "live" (`first` is false after a reconnect: events may
 * have been missed meanwhile), "reconnecting" or "stopped".
 */
export function followEvents(path, { onEvent, onState = () => {} }) {
  let closed = false;
  let controller = null;
  let timer = null;
  let delay = FIRST_DELAY_MS;
  let opened = 0;

  async function connect() {
    controller = new AbortController();
    onState("connecting", opened === 0);
    let response;
    try {
      response = await fetch(`/v2/${path}?ping_interval=${PING}`, {
        credentials: "same-origin",
        headers: { Accept: "application/x-ndjson" },
        cache: "no-store",
        signal: controller.signal,
      });
    } catch {
      return retry();
    }
    if ([401, 403, 404].includes(response.status)) {
      onState("stopped", false);
      return;
    }
    if (!response.ok || !response.body) return retry();
    opened += 1;
    delay = FIRST_DELAY_MS;
    onState("live", opened === 1);
    try {
      await readLines(response.body, (message) => {
        const event = message.result?.event;
        if (event && event.eventType !== "ping") onEvent(event);
      });
    } catch {
      // aborted by close(), or the connection broke: retry() tells them apart
    }
    return retry();
  }

  function retry() {
    if (closed) return;
    onState("reconnecting", false);
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }

  connect();
  return function close() {
    closed = true;
    clearTimeout(timer);
    controller?.abort();
  };
}

/** Call `onMessage` with each JSON line of the body until it ends (or an error line arrives). */
async function readLines(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        if (!line) continue;
        let message;
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        // The server ends a stream with an error line (access revoked, reader too slow).
        if (message.error) return;
        onMessage(message);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
