// The operator's screen (issue 19, admin accounts): search accounts, approve sign-ups, suspend and reinstate, change
// roles, and issue a key to an account that lost its own (the key is shown once, here, and nowhere else).
// Helpers come from app.js, which imports this module and wires `loadOperator` to the "Accounts" tab.
import { api, confirmDialog, guard, html, render, say } from "./app.js";

const $ = (sel) => document.querySelector(sel);
const ROLES = ["publisher", "buyer", "admin"];
const accountsById = new Map();
let filters = {};

const badge = (status) => html`<span class="badge status-${status === "active" ? "active" : status === "pending" ? "lapsed" : "revoked"}">${status}</span>`;

function actions(a) {
  const label = (verb) => `${verb} ${a.name}`;
  const buttons = [];
  if (a.status === "pending") buttons.push(html`<button type="button" class="approve" data-account="${a.id}" aria-label="${label("Approve")}">Approve</button>`);
  if (a.status === "suspended") buttons.push(html`<button type="button" class="reinstate" data-account="${a.id}" aria-label="${label("Reinstate")}">Reinstate</button>`);
  if (a.status !== "suspended") buttons.push(html`<button type="button" class="suspend secondary" data-account="${a.id}" aria-label="${label("Suspend")}">Suspend</button>`);
  buttons.push(html`<button type="button" class="roles secondary" data-account="${a.id}" aria-label="${label("Change the roles of")}">Roles</button>`);
  buttons.push(html`<button type="button" class="issue-key secondary" data-account="${a.id}" aria-label="${label("Issue a key for")}">Issue key</button>`);
  return html`<span class="actions">${buttons}</span>`;
}

function row(a) {
  accountsById.set(a.id, a);
  const shown = a.profile?.display_name && a.profile.display_name !== a.name ? html`<br><span class="hint">shown as ${a.profile.display_name}</span>` : "";
  const changed = a.updated_at ? html`${a.updated_at.slice(0, 16).replace("T", " ")}<br><span class="hint">by ${a.updated_by || "?"}</span>` : "—";
  return html`<tr data-account="${a.id}" data-status="${a.status}">
    <td>${a.name}${shown}<br><code class="hint">${a.id}</code></td><td>${a.email}</td><td>${a.roles.join(", ")}</td>
    <td>${badge(a.status)}</td><td>${a.created_at.slice(0, 10)}</td><td>${changed}</td><td>${actions(a)}</td></tr>`;
}

// A slower, older listing must not overwrite a newer one (opening the tab lists every account; a search may answer
// first), so each answer is drawn only if no newer request was made meanwhile.
let generation = 0;
let cursor = null;

export async function loadOperator(append = false) {
  const mine = ++generation;
  if (!append) {
    $("#issued-key").hidden = true;
    $("#issued-key").replaceChildren();
  }
  const page = await api("GET", "/v1/accounts", { params: { ...filters, limit: 50, cursor: append ? cursor : null } });
  if (mine !== generation) return;
  cursor = page.next_cursor;
  const tbody = $("#accounts-table tbody");
  if (!append && !page.items.length) {
    render(tbody, html`<tr><td colspan="7">${filters.q ? `No account starts with “${filters.q}”.` : "No account matches."}</td></tr>`);
  } else {
    render(tbody, html`${page.items.map(row)}`, append);
  }
  $("#accounts-more").hidden = !cursor;
}

async function changeStatus(id, verb, path) {
  const a = accountsById.get(id);
  const done = await api("POST", `/v1/accounts/${id}/${path}`, { body: {} });
  say(`${a.name}: ${verb} (now ${done.status}).`, "success");
  await loadOperator();
}

function startSuspend(id) {
  const a = accountsById.get(id);
  confirmDialog({
    title: `Suspend ${a.name}?`,
    body: html`<p>Its keys stop working within a minute, and its offers grant no new licence.
      Licences already granted keep their terms. You can reinstate it later.</p><p id="confirm-error" class="error-text" role="alert"></p>`,
    confirmLabel: "Suspend",
    onConfirm: () => changeStatus(id, "suspended", "suspend"),
  });
}

function startRoles(id) {
  const a = accountsById.get(id);
  const chosen = () => ROLES.filter((r) => $(`#role-${r}`)?.checked);
  confirmDialog({
    title: `Roles of ${a.name}`,
    body: html`<fieldset><legend>Roles</legend>${ROLES.map((r) => html`
      <label><input type="checkbox" id="role-${r}" ${a.roles.includes(r) ? html`checked` : ""}> ${r}</label>`)}</fieldset>
      <p class="hint">Changes take effect within a minute (the key cache).</p><p id="confirm-error" class="error-text" role="alert"></p>`,
    confirmLabel: "Save roles",
    ready: () => chosen().length > 0,
    onConfirm: async () => {
      const done = await api("PATCH", `/v1/accounts/${id}`, { body: { roles: chosen() } });
      say(`${a.name}: roles are now ${done.roles.join(", ")}.`, "success");
      await loadOperator();
    },
  });
}

function startIssueKey(id) {
  const a = accountsById.get(id);
  confirmDialog({
    title: `Issue a key for ${a.name}?`,
    body: html`<p>A new API key for this account (for example when it revoked its last one). The key is shown once:
      hand it over through a safe channel.</p><p id="confirm-error" class="error-text" role="alert"></p>`,
    confirmLabel: "Issue key",
    onConfirm: async () => {
      const got = await api("POST", `/v1/accounts/${id}/keys`, { body: {} });
      const box = $("#issued-key");
      render(box, html`<h3>New key for ${a.name}</h3>
        <p class="warning">Shown once: copy it now. Only its hash is kept; nobody can show it again.</p>
        <p><code id="issued-key-value" class="sha">${got.api_key}</code></p>
        <p class="hint">Key id ${got.key_id}, issued ${got.created_at}.</p>
        <button type="button" id="issued-key-done" class="secondary">I have copied it</button>`);
      box.hidden = false;
      $("#issued-key-done").onclick = () => { box.replaceChildren(); box.hidden = true; };
      say(`Key ${got.key_id} issued for ${a.name}.`, "success");
    },
  });
}

export function wireOperator() {
  $("#accounts-more").addEventListener("click", guard(() => loadOperator(true)));
  $("#accounts-form").addEventListener("submit", guard((e) => {
    const f = e.target;
    filters = { q: f.q.value.trim(), status: f.status.value, role: f.role.value };
    return loadOperator();
  }));
  $("#accounts-table").addEventListener("click", guard((e) => {
    const b = e.target.closest("button[data-account]");
    if (!b) return null;
    const id = b.dataset.account;
    if (b.classList.contains("approve")) return changeStatus(id, "approved", "approve");
    if (b.classList.contains("reinstate")) return changeStatus(id, "reinstated", "reinstate");
    if (b.classList.contains("suspend")) return startSuspend(id);
    if (b.classList.contains("roles")) return startRoles(id);
    return b.classList.contains("issue-key") ? startIssueKey(id) : null;
  }));
}

export function forgetOperator() {
  generation += 1;
  accountsById.clear();
  filters = {};
  $("#accounts-form").reset();
  $("#issued-key").replaceChildren();
  $("#issued-key").hidden = true;
}
