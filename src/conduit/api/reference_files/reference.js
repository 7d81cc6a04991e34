// Starts Swagger UI on this server's OpenAPI document. A file rather than an inline script, so the
// page's Content-Security-Policy can forbid inline code.
"use strict";

(function start() {
  // Someone signed in to Studio may "try out" calls with the session cookie; the API refuses a
  // write without the session's CSRF token, so the token is read once and added to writes.
  let csrfToken = null;
  fetch("/auth/session", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => {
      csrfToken = body && typeof body.csrfToken === "string" ? body.csrfToken : null;
    })
    .catch(() => {
      csrfToken = null;
    });

  window.ui = window.SwaggerUIBundle({
    url: "/v2/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator badge sends the document to an outside service: the page stays offline.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    requestInterceptor: (request) => {
      const method = (request.method || "GET").toUpperCase();
      if (csrfToken && method !== "GET" && method !== "HEAD") {
        request.headers["X-CSRF-Token"] = csrfToken;
      }
      return request;
    },
  });
})();
