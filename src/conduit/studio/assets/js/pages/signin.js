// The sign-in view: email and password, posted to /auth/session; the server answers with a session
// cookie (HttpOnly, so scripts never see it) and the CSRF token for writes.

import { ApiFailure, signIn } from "../api.js";
import { field, h } from "../dom.js";

export async function render(main, _params, ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", novalidate: true },
    h("h1", {}, "Sign in to Conduit Studio"),
    field("Email", email),
    field("Password", password),
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!email.value || !password.value) {
      error.textContent = "Enter your email and password.";
      return;
    }
    button.disabled = true;
    try {
      const answer = await signIn(email.value.trim(), password.value);
      await ctx.signedIn(answer);
    } catch (failure) {
      password.value = "";
      error.textContent = describe(failure);
      button.disabled = false;
      password.focus();
    }
  });
  main.append(form);
  email.focus();
}

function describe(failure) {
  if (!(failure instanceof ApiFailure)) return String(failure.message ?? failure);
  if (failure.status === 401) return "Wrong email or password.";
  if (failure.status === 429) return "Too many failed attempts. Wait a minute and try again.";
  return failure.message;
}
