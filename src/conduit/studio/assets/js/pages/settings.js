// Project settings: the project's service accounts with their keys (a new key's secret is shown
// once, here, and never again), and the project's members with their roles. Only what the user's
// permissions allow is offered; the API refuses the rest anyway.

import { api, listAll } from "../api.js";
import { confirmDialog, field, fieldError, formatTime, h, idOf, replace, uid } from "../dom.js";

const ACCOUNT_TYPES = { SERVICE_ACCOUNT: "Service account", USER: "User" };
const STATUSES = { ACCEPTED: "Active", PENDING: "Pending" };

function section(title, ...children) {
  const headingId = uid("section");
  return h("section", { class: "panel", "aria-labelledby": headingId }, h("h2", { id: headingId }, title), children);
}

/** The error of a failed write next to the field it concerns, else in the form's alert line. */
function showFailure(failure, fields, alert) {
  const slot = failure.field ? fields[failure.field.split(".")[0]] : null;
  if (slot) slot.show(failure.message);
  else alert.textContent = failure.message;
}

export async function render(main, _params, ctx) {
  const { project, permissions } = ctx;
  main.append(h("h1", {}, "Project settings"));
  const parts = [];
  if (permissions.has("serviceaccount.read")) parts.push(serviceAccounts(project, permissions, ctx.announce));
  if (permissions.has("membership.read")) parts.push(members(project, permissions, ctx.announce));
  if (!parts.length) {
    main.append(h("p", {}, "Your role in this project cannot see its service accounts or members."));
    return null;
  }
  main.append(...parts.map((p) => p.el));
  await Promise.all(parts.map((p) => p.load()));
  return null;
}

// ---- service accounts ----------------------------------------------------------------------------

function serviceAccounts(project, permissions, announce) {
  const base = `projects/${encodeURIComponent(project)}/serviceaccounts`;
  const list = h("div", {}, h("p", { class: "loading" }, "Loading service accounts…"));
  const secretSlot = h("div", {});
  const el = section(
    "Service accounts",
    h(
      "p",
      { class: "hint" },
      "Programs use the API with a service account's keys. A new service account has no role: add it under Members to grant one.",
    ),
    permissions.has("serviceaccount.create") ? createForm() : null,
    secretSlot,
    list,
  );

  function createForm() {
    const name = h("input", { type: "text", autocomplete: "off", maxlength: "256" });
    const basic = h("input", { type: "checkbox", id: uid("basic") });
    const nameError = fieldError(name);
    const alert = h("p", { class: "error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Create service account");
    const form = h(
      "form",
      { class: "inline-form", novalidate: true },
      h("h3", {}, "New service account"),
      field("Display name", name),
      nameError.el,
      h(
        "div",
        { class: "check" },
        basic,
        h("label", { for: basic.id }, "Allow Basic Auth"),
      ),
      h("p", { class: "hint" }, "With Basic Auth a program may send a key's ID and secret as HTTP Basic credentials instead of fetching a token."),
      alert,
      h("div", { class: "actions" }, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      nameError.clear();
      alert.textContent = "";
      submit.disabled = true;
      try {
        const created = await api("POST", base, { displayName: name.value.trim(), enableBasicAuth: basic.checked });
        name.value = "";
        basic.checked = false;
        await load();
        announce(`Service account ${created.displayName || created.email} created.`);
      } catch (failure) {
        showFailure(failure, { displayName: nameError }, alert);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  /** The new key's secret, once: shown until "Done", never stored, never fetched again. */
  function showSecret(account, answer) {
    const keyId = h("input", { type: "text", readonly: true, value: answer.key.id, class: "mono" });
    const secret = h("input", { type: "text", readonly: true, value: answer.secret, class: "mono", spellcheck: "false" });
    const copy = h("button", { type: "button" }, "Copy");
    const done = h("button", { type: "button", class: "primary" }, "Done");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(secret.value);
        announce("Secret copied to the clipboard.");
      } catch {
        // No clipboard access (an insecure origin, a denied permission): select it for Ctrl+C.
        secret.focus();
        secret.select();
        announce("The secret is selected: press Ctrl+C (or ⌘C) to copy it.");
      }
    });
    done.addEventListener("click", () => {
      replace(secretSlot);
      announce("The secret is no longer shown.");
    });
    const headingId = uid("new-key");
    replace(
      secretSlot,
      h(
        "section",
        { class: "new-secret", "aria-labelledby": headingId },
        h("h3", { id: headingId }, `New key for ${account.displayName || account.email}`),
        h("p", { class: "warning" }, "Copy the secret now: it is shown only this once and cannot be read again."),
        field("Key ID", keyId),
        h("div", { class: "secret-row" }, field("Secret", secret), copy),
        h("div", { class: "actions" }, done),
      ),
    );
    secret.focus();
    secret.select();
  }

  async function load() {
    const accounts = await listAll(base, "serviceAccounts");
    const keyed = await Promise.all(
      accounts.map(async (account) => ({
        account,
        keys: permissions.has("serviceaccount.key.read")
          ? await listAll(`${base}/${encodeURIComponent(idOf(account.name))}/keys`, "keys")
          : null,
      })),
    );
    if (!keyed.length) {
      replace(list, h("p", { class: "empty-note" }, "No service accounts yet."));
      return;
    }
    replace(list, keyed.map(({ account, keys }) => accountCard(account, keys)));
  }

  function accountCard(account, keys) {
    const id = idOf(account.name);
    const path = `${base}/${encodeURIComponent(id)}`;
    const title = account.displayName || account.email;
    const headingId = uid("account");
    const actions = h("div", { class: "actions" });
    const alert = h("p", { class: "error", role: "alert" });

    if (permissions.has("serviceaccount.key.create")) {
      const create = h("button", { type: "button" }, "Create key");
      create.addEventListener("click", async () => {
        alert.textContent = "";
        create.disabled = true;
        try {
          const answer = await api("POST", `${path}/keys`, {});
          showSecret(account, answer);
          await load();
        } catch (failure) {
          alert.textContent = failure.message;
          create.disabled = false;
        }
      });
      actions.append(create);
    }
    if (permissions.has("serviceaccount.delete")) {
      const remove = h("button", { type: "button", class: "danger" }, "Delete service account");
      remove.addEventListener("click", async () => {
        const sure = await confirmDialog({
          title: "Delete service account?",
          message: `${title} is deleted with its keys and memberships; programs using it stop working at once.`,
          confirm: "Delete service account",
        });
        if (!sure) return;
        alert.textContent = "";
        try {
          await api("DELETE", path);
          await load();
          announce(`Service account ${title} deleted.`);
        } catch (failure) {
          alert.textContent = failure.message;
        }
      });
      actions.append(remove);
    }

    return h(
      "section",
      { class: "account", "aria-labelledby": headingId },
      h("h3", { id: headingId }, title),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Email"),
        h("dd", { class: "mono" }, account.email),
        h("dt", {}, "Basic Auth"),
        h("dd", {}, account.enableBasicAuth ? "Allowed" : "Not allowed"),
        h("dt", {}, "Created"),
        h("dd", {}, formatTime(account.createTime)),
      ),
      keys === null ? null : keyTable(account, path, keys, alert),
      alert,
      actions,
    );
  }

  function keyTable(account, path, keys, alert) {
    if (!keys.length) return h("p", { class: "empty-note" }, "No keys.");
    const canDelete = permissions.has("serviceaccount.key.delete");
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        h("caption", { class: "hint" }, `Keys of ${account.displayName || account.email}`),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "Key ID"),
            h("th", { scope: "col" }, "Created"),
            canDelete ? h("th", { scope: "col" }, "Actions") : null,
          ),
        ),
        h(
          "tbody",
          {},
          keys.map((key) => {
            let actions = null;
            if (canDelete) {
              const remove = h("button", { type: "button", class: "small", "aria-label": `Delete key ${key.id}` }, "Delete");
              remove.addEventListener("click", async () => {
                const sure = await confirmDialog({
                  title: "Delete key?",
                  message: `Programs using key ${key.id} stop working at once.`,
                  confirm: "Delete key",
                });
                if (!sure) return;
                try {
                  await api("DELETE", `${path}/keys/${encodeURIComponent(key.id)}`);
                  await load();
                  announce(`Key ${key.id} deleted.`);
                } catch (failure) {
                  alert.textContent = failure.message;
                }
              });
              actions = h("td", {}, remove);
            }
            return h("tr", {}, h("td", { class: "mono" }, key.id), h("td", {}, formatTime(key.createTime)), actions);
          }),
        ),
      ),
    );
  }

  return { el, load };
}

// ---- members -------------------------------------------------------------------------------------

function members(project, permissions, announce) {
  const base = `projects/${encodeURIComponent(project)}/members`;
  const list = h("div", {}, h("p", { class: "loading" }, "Loading members…"));
  let roles = []; // [{name, displayName}] of project roles

  const form = permissions.has("membership.create") ? addForm() : null;
  const el = section(
    "Members",
    h("p", { class: "hint" }, "People and service accounts with a role in this project."),
    form?.el,
    list,
  );

  function roleOptions(selected) {
    return roles.map((role) => h("option", { value: role.name, selected: role.name === selected }, role.displayName));
  }

  function addForm() {
    const email = h("input", { type: "email", autocomplete: "off", required: true });
    const role = h("select", {});
    const emailError = fieldError(email);
    const roleError = fieldError(role);
    const alert = h("p", { class: "error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Add member");
    const formEl = h(
      "form",
      { class: "inline-form", novalidate: true }, // the API's own message, next to the field
      h("h3", {}, "Add a member"),
      field("Email", email, "A person's email, or a service account's."),
      emailError.el,
      field("Role", role),
      roleError.el,
      alert,
      h("div", { class: "actions" }, submit),
    );
    formEl.addEventListener("submit", async (event) => {
      event.preventDefault();
      emailError.clear();
      roleError.clear();
      alert.textContent = "";
      submit.disabled = true;
      try {
        const added = await api("POST", base, { email: email.value.trim(), roles: [role.value] });
        email.value = "";
        await load();
        announce(`${added.email} added.`);
      } catch (failure) {
        showFailure(failure, { email: emailError, roles: roleError }, alert);
      } finally {
        submit.disabled = false;
      }
    });
    return {
      el: formEl,
      setRoles() {
        replace(role, roleOptions("roles/project.user"));
      },
    };
  }

  async function load() {
    const [found, allRoles] = await Promise.all([listAll(base, "members"), roles.length ? null : listAll("roles", "roles")]);
    if (allRoles) {
      roles = allRoles.filter((r) => r.name.startsWith("roles/project."));
      form?.setRoles();
    }
    if (!found.length) {
      replace(list, h("p", { class: "empty-note" }, "No members."));
      return;
    }
    const canUpdate = permissions.has("membership.update");
    const canDelete = permissions.has("membership.delete");
    replace(
      list,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("caption", { class: "hint" }, "Members of this project"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Email"),
              h("th", { scope: "col" }, "Account type"),
              h("th", { scope: "col" }, "Role"),
              h("th", { scope: "col" }, "Status"),
              canDelete ? h("th", { scope: "col" }, "Actions") : null,
            ),
          ),
          h("tbody", {}, found.map((member) => memberRow(member, canUpdate, canDelete))),
        ),
      ),
    );
  }

  function roleName(name) {
    return roles.find((r) => r.name === name)?.displayName ?? name;
  }

  function memberRow(member, canUpdate, canDelete) {
    const path = `${base}/${encodeURIComponent(idOf(member.name))}`;
    const error = h("p", { class: "error", role: "alert" });
    let roleCell;
    if (canUpdate && member.roles.length <= 1) {
      const select = h("select", { id: uid("member-role") }, roleOptions(member.roles[0]));
      select.addEventListener("change", async () => {
        error.textContent = "";
        select.disabled = true;
        try {
          await api("PATCH", path, { roles: [select.value] });
          announce(`${member.email} is now ${roleName(select.value)}.`);
        } catch (failure) {
          error.textContent = failure.message;
          select.value = member.roles[0] ?? "";
        } finally {
          select.disabled = false;
        }
      });
      roleCell = h("td", {}, h("label", { for: select.id, class: "visually-hidden" }, `Role of ${member.email}`), select, error);
    } else {
      roleCell = h("td", {}, member.roles.map(roleName).join(", "), error);
    }
    let actions = null;
    if (canDelete) {
      const remove = h("button", { type: "button", class: "small", "aria-label": `Remove ${member.email}` }, "Remove");
      remove.addEventListener("click", async () => {
        const sure = await confirmDialog({
          title: "Remove member?",
          message: `${member.email} loses every role in this project (the account itself stays).`,
          confirm: "Remove",
        });
        if (!sure) return;
        try {
          await api("DELETE", path);
          await load();
          announce(`${member.email} removed.`);
        } catch (failure) {
          error.textContent = failure.message;
        }
      });
      actions = h("td", {}, remove);
    }
    return h(
      "tr",
      {},
      h("td", {}, member.email),
      h("td", {}, ACCOUNT_TYPES[member.accountType] ?? member.accountType),
      roleCell,
      h("td", {}, STATUSES[member.status] ?? member.status),
      actions,
    );
  }

  return { el, load };
}
