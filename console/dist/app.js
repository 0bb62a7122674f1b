// Imprimatur web console: a static page that calls the public API with the user's key (session storage only).
// HTML is built only with the `html` tagged template, which escapes every interpolated value unless it is itself the
// result of `html` (so nothing needs to remember to call an escape function).
import { barChart } from "./chart.js";
import { forgetOperator, loadOperator, wireOperator } from "./operator.js";

const $ = (sel) => document.querySelector(sel);
const state = { key: sessionStorage.getItem("imprimatur-key"), me: null, cursor: null, filters: {}, names: new Map() };

// ------------------------------------------------------------------------------------------------ html
class Html {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}
const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const part = (v) => {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(part).join("");
  if (v === null || v === undefined || v === false) return "";
  return String(v).replace(/[&<>"']/g, (c) => ESC[c]);
};
export const html = (strings, ...values) => new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? part(values[i]) : ""), ""));
function render(el, content, append = false) {
  if (!(content instanceof Html)) throw new TypeError("render() takes html`...` only");
  if (append) el.insertAdjacentHTML("beforeend", content.text); else el.innerHTML = content.text;
}

// ------------------------------------------------------------------------------------------------ money
// Exact amounts from integer micros, always with their currency: USD 25.00, USD 0.01, USD 0.002.
function money(micros, currency = "USD") {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / 1e6).toLocaleString("en-US");
  const frac = String(abs % 1e6).padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${currency} ${sign}${whole}.${frac}`;
}
function toMicros(text) {
  const m = /^\s*(\d{1,12})(?:\.(\d{1,6}))?\s*$/.exec(text || "");
  if (!m) throw new Error(`"${text}" is not an amount like 0.05 (at most 6 decimals)`);
  return Number(m[1]) * 1e6 + Number((m[2] || "").padEnd(6, "0"));
}

// ------------------------------------------------------------------------------------------------ api
class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, { body, params, accept, headers = {} } = {}) {
  const url = new URL(path, window.location.origin);
  Object.entries(params || {}).forEach(([k, v]) => v !== undefined && v !== null && v !== "" && url.searchParams.set(k, v));
  const h = { Accept: accept || "application/json", ...headers };
  if (state.key) h.Authorization = `Bearer ${state.key}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (method === "POST" && !h["Idempotency-Key"]) h["Idempotency-Key"] = crypto.randomUUID();
  const resp = await fetch(url, { method, headers: h, body: body !== undefined ? JSON.stringify(body) : undefined });
  if (!resp.ok) {
    let problem = null;
    try { problem = await resp.json(); } catch { /* not JSON */ }
    throw new ApiError(resp.status, problem);
  }
  if (accept === "text/csv") return resp.text();
  return resp.status === 204 ? null : resp.json();
}

async function* pages(path, params) {
  let cursor = null;
  do {
    const page = await api("GET", path, { params: { ...params, limit: 100, cursor } });
    yield page.items;
    cursor = page.next_cursor;
  } while (cursor);
}

// Names instead of ids: titles of assets, collections and pools, names of publishers (cached; public reads).
const NAME_PATHS = { ast: (id) => `/v1/assets/${id}`, col: (id) => `/v1/collections/${id}`, pool: (id) => `/v1/pools/${id}`, acct: (id) => `/v1/publishers/${id}` };
function nameOf(id) {
  if (!id) return Promise.resolve("—");
  if (!state.names.has(id)) {
    const path = NAME_PATHS[id.split("_")[0]];
    state.names.set(id, path ? api("GET", path(id)).then((x) => x.title || x.name || id).catch(() => id) : Promise.resolve(id));
  }
  return state.names.get(id);
}
const remember = (id, name) => { if (id && name) state.names.set(id, Promise.resolve(name)); };

function say(message, kind = "info") {
  const el = $("#alert");
  el.hidden = false;
  el.className = `alert ${kind}`;
  el.textContent = message;
}

// What to do about the licence and budget codes of API 1.1, added to the server's own words.
const HINTS = {
  budget_exhausted: "The licence's budget cap is reached; nothing was charged. Raise the cap under Buyer → My licences.",
  budget_below_price: "The offer charges more than the budget cap you gave: give a cap of at least its price, or none.",
  cap_below_spent: "A budget cap cannot be lower than what the licence has already spent.",
  budget_reserved: "Downloads in progress hold part of this budget; they expire within a minute. Try again then.",
  license_lapsed: "The licence lapsed because a renewal would have exceeded its budget cap; raising the cap makes it active again.",
  license_not_active: "Certificates exist for active licences only.",
};
function problemText(err) {
  if (!(err instanceof ApiError)) return String(err.message || err);
  const fields = (err.body.errors || []).map((e) => `${e.field || e.location}: ${e.message}`).join("; ");
  const hint = HINTS[err.body.code];
  return `${err.message}${fields ? ` — ${fields}` : ""} (${err.status} ${err.body.code || ""})${hint ? ` ${hint}` : ""}`;
}
function sayError(err) { say(problemText(err), "error"); }

// Every action: the button that started it is disabled until it ends, so a double-click is one request.
const guard = (fn) => async (event) => {
  event?.preventDefault?.();
  const button = event?.submitter || event?.target?.closest?.("button");
  if (button?.disabled) return;
  if (button) button.disabled = true;
  try { await fn(event); } catch (err) { sayError(err); } finally { if (button) button.disabled = false; }
};

// ------------------------------------------------------------------------------------------------ dialog
// One modal confirmation. `onConfirm` runs once per press of the confirm button, which stays disabled while it runs;
// the dialog closes only when it succeeds. `ready()` decides whether the button is enabled (e.g. a required tick).
// `update()` runs on every input in the dialog before `ready()`, e.g. to show what a typed amount will do.
function confirmDialog({ title, body, confirmLabel, onConfirm, ready = () => true, update = () => {} }) {
  const dlg = $("#confirm");
  $("#confirm-title").textContent = title;
  render($("#confirm-body"), body);
  const ok = $("#confirm-ok");
  ok.textContent = confirmLabel;
  const refresh = () => { update(); ok.disabled = !ready(); };
  refresh();
  $("#confirm-body").oninput = refresh;
  $("#confirm-body").onchange = refresh;
  $("#confirm-cancel").onclick = () => dlg.close("cancel");
  $("#confirm-form").onsubmit = async (event) => {
    event.preventDefault();
    if (ok.disabled) return;
    ok.disabled = true;
    $("#confirm-cancel").disabled = true;
    try {
      await onConfirm();
      dlg.close("ok");
    } catch (err) {
      sayError(err);
      const msg = $("#confirm-error");
      if (msg) msg.textContent = problemText(err);
    } finally {
      $("#confirm-cancel").disabled = false;
      refresh();
    }
  };
  dlg.showModal();
}

// ------------------------------------------------------------------------------------------------ session
async function signIn(key) {
  state.key = key;
  try {
    state.me = await api("GET", "/v1/me");
  } catch (err) {
    state.key = null;
    sessionStorage.removeItem("imprimatur-key");
    throw err;
  }
  sessionStorage.setItem("imprimatur-key", key);
  $("#who-name").textContent = `${state.me.name} (${state.me.roles.join(", ")})`;
  $("#who").hidden = false;
  $("#signin").hidden = true;
  $("#tabs").hidden = false;
  // a tab only for the roles its calls accept: an admin without the publisher role would get 403s there
  document.querySelectorAll(".tab[data-role]").forEach((b) => { b.hidden = !state.me.roles.includes(b.dataset.role); });
  show("catalogue");
  say(`Signed in as ${state.me.name}.`);
}

function signOut() {
  sessionStorage.removeItem("imprimatur-key");
  state.key = null;
  state.me = null;
  state.names = new Map();
  // forget what the previous account saw
  document.querySelectorAll("tbody, #results, #statement, #buyer-statement, #offers-of, .chart").forEach((el) => el.replaceChildren());
  document.querySelectorAll("button.more").forEach((b) => { b.hidden = true; });
  $("#offers-of").hidden = true;
  $("#buyer-status").value = "";
  licencesById.clear();
  forgetOperator();
  $("#balance").textContent = "";
  $("#api-key").value = "";
  $("#who").hidden = true;
  $("#tabs").hidden = true;
  document.querySelectorAll(".panel").forEach((p) => { p.hidden = true; });
  $("#signin").hidden = false;
  say("Signed out.");
}

function show(tab) {
  document.querySelectorAll(".panel").forEach((p) => { p.hidden = p.id !== tab; });
  document.querySelectorAll(".tab").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tab === tab)));
  ({ catalogue: loadCatalogue, publisher: loadPublisher, buyer: loadBuyer, operator: loadOperator })[tab]().catch(sayError);
}

// Lists of up to 100 per page with a "Load more" button that follows the cursor.
async function pagedTable({ tbody, more, path, params, row, empty, colspan }) {
  let cursor = null;
  const load = async (append) => {
    const page = await api("GET", path, { params: { ...params, limit: 100, cursor: append ? cursor : null } });
    cursor = page.next_cursor;
    const rows = await Promise.all(page.items.map(row));
    if (!append && !rows.length) render(tbody, html`<tr><td colspan="${colspan}">${empty}</td></tr>`);
    else render(tbody, html`${rows}`, append);
    more.hidden = !cursor;
    return page.items;
  };
  more.onclick = guard(() => load(true));
  return load(false);
}

// ---------------------------------------------------------------------------------------------- catalogue
function price(p) {
  if (p.model === "free") return "free";
  return `${money(p.amount_micros, p.currency)}${p.unit ? ` per ${p.unit}` : ""}${p.period_days ? ` every ${p.period_days} days` : ""}`;
}
const MODEL = { per_access: "per access", per_unit: "per unit", flat: "flat fee", subscription: "subscription", free: "free" };

let catalogueRequest = 0;
const offersById = new Map();

async function loadCatalogue(append = false) {
  const mine = ++catalogueRequest; // a slower, older search must not overwrite a newer one's results
  const page = await api("GET", "/v1/catalog/assets", { params: { ...state.filters, limit: 12, cursor: append ? state.cursor : null } });
  if (mine !== catalogueRequest) return;
  state.cursor = page.next_cursor;
  $("#more").hidden = !state.cursor;
  const canBuy = state.me && state.me.roles.includes("buyer");
  const publishers = await Promise.all(page.items.map((a) => nameOf(a.publisher_id)));
  page.items.forEach((a) => { remember(a.id, a.title); a.offers.forEach((o) => offersById.set(o.id, { offer: o, asset: a })); });
  const cards = page.items.map((a, n) => html`
    <article class="card asset" aria-label="${a.title}">
      <h3>${a.title}</h3>
      <p class="meta">${publishers[n]} · ${a.kind} · ${a.language} · ${a.tags.join(", ")}</p>
      <ul class="offers">${a.offers.length ? a.offers.map((o) => html`
        <li><span>${MODEL[o.pricing.model]} ${price(o.pricing)} — ${o.uses.join(", ")}</span>
        ${canBuy ? html`<span class="buy-box"><label class="sr" for="use-${o.id}">Use for ${a.title}</label>
          <select id="use-${o.id}" class="use">${o.uses.map((u) => html`<option>${u}</option>`)}</select>
          <button type="button" class="buy" data-offer="${o.id}" aria-label="Take licence on ${a.title} (${o.pricing.model})">Take licence</button></span>` : ""}</li>`)
        : html`<li>No active offer.</li>`}
      </ul>
    </article>`);
  if (append) render($("#results"), html`${cards}`, true);
  else render($("#results"), cards.length ? html`${cards}` : html`<p>Nothing found.</p>`);
}

async function activeLicencesOn(offerId) {
  const found = [];
  for await (const items of pages("/v1/licenses", { as: "buyer", status: "active" })) found.push(...items.filter((l) => l.offer_id === offerId));
  return found;
}

// A purchase always goes through a summary and a confirmation. The Idempotency-Key belongs to this confirmed intent:
// pressing confirm again (after an error, or a double-click that got through) repeats the same request, never a
// second purchase.
async function startPurchase(offerId, use) {
  const { offer, asset } = offersById.get(offerId);
  const [publisher, held] = await Promise.all([nameOf(asset.publisher_id), activeLicencesOn(offerId)]);
  const p = offer.pricing;
  const key = crypto.randomUUID();
  const scope = offer.scope || {};
  const covers = scope.type === "asset" || !scope.type ? `“${asset.title}”` : `all of ${scope.type} “${await nameOf(scope.id)}”`;
  const charges = {
    per_access: `${money(p.amount_micros, p.currency)} for each download`,
    per_unit: `${money(p.amount_micros, p.currency)} per ${p.unit || "unit"} you report`,
    flat: `${money(p.amount_micros, p.currency)} now, once`,
    subscription: `${money(p.amount_micros, p.currency)} now and every ${p.period_days} days until you cancel`,
    free: "nothing",
  }[p.model];
  const needsCap = p.model !== "free";
  const body = html`
    <dl>
      <dt>Content</dt><dd>${covers}</dd>
      <dt>Publisher</dt><dd>${publisher}</dd>
      <dt>Use</dt><dd>${use}</dd>
      <dt>Pricing</dt><dd>${MODEL[p.model]}</dd>
      <dt>You pay</dt><dd id="confirm-price">${charges}</dd>
      <dt>Term</dt><dd>${offer.term_days ? `${offer.term_days} days` : "no end date"}</dd>
    </dl>
    ${needsCap ? html`<label>Budget cap (${p.currency}, optional: the most this licence may ever charge)
      <input id="confirm-cap" inputmode="decimal" placeholder="e.g. 25.00" autocomplete="off"></label>` : ""}
    ${held.length ? html`<p class="warning" id="confirm-duplicate">You already hold an active licence on this offer
      (${held.map((l) => l.id).join(", ")}, ${held[0].use}). Buying again takes a second licence${p.model === "free" ? "" : " and charges again"}.</p>
      <label><input type="checkbox" id="confirm-again"> Yes, take another licence</label>` : ""}
    <p id="confirm-error" class="error-text" role="alert"></p>`;
  confirmDialog({
    title: `Take a licence: ${money(p.amount_micros, p.currency)}${p.model === "free" ? " (free)" : ""}`,
    body,
    confirmLabel: held.length ? "Buy another licence" : `Confirm purchase`,
    ready: () => !held.length || $("#confirm-again").checked,
    onConfirm: async () => {
      const capText = needsCap ? $("#confirm-cap").value.trim() : "";
      const req = { offer_id: offerId, use };
      if (capText) req.budget_cap_micros = toMicros(capText);
      const got = await api("POST", "/v1/licenses", { body: req, headers: { "Idempotency-Key": key } });
      say(`Licence ${got.license.id} granted for ${use} on ${asset.title}.`, "success");
    },
  });
}

// ---------------------------------------------------------------------------------------------- publisher
const MEDIA_TYPES = new Set(("text/plain text/html text/markdown text/csv application/json application/x-ndjson application/xml "
  + "application/pdf application/zip application/gzip application/x-tar application/epub+zip application/parquet image/png "
  + "image/jpeg image/webp audio/mpeg audio/wav video/mp4 application/octet-stream").split(" "));

// SHA-256 of a file in a Worker, 8 MiB slices at a time (never the whole file in memory).
function sha256Hex(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const worker = new Worker("sha256-worker.js");
    worker.onmessage = ({ data }) => {
      if (data.progress !== undefined) return onProgress(data.progress);
      worker.terminate();
      return data.sha256 ? resolve(data.sha256) : reject(new Error(data.error || "hashing failed"));
    };
    worker.onerror = (e) => { worker.terminate(); reject(new Error(e.message || "hashing failed")); };
    worker.postMessage({ file });
  });
}

const hashes = new WeakMap(); // File -> Promise<hex>: hashed once, when chosen
function hashOf(file) {
  if (!hashes.has(file)) {
    const out = $("#file-sha256");
    const bar = $("#upload-progress");
    out.textContent = "computing…";
    hashes.set(file, sha256Hex(file, (done) => { bar.value = Math.round((100 * done) / Math.max(file.size, 1)); })
      .then((hex) => { out.textContent = hex; return hex; }));
  }
  return hashes.get(file);
}

function put(url, data, headers, onProgress, wantEtag = false) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    Object.entries(headers || {}).forEach(([k, v]) => xhr.setRequestHeader(k, v));
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status !== 200) return reject(new Error(`storage refused the upload: HTTP ${xhr.status}`));
      if (!wantEtag) return resolve(null);
      const etag = xhr.getResponseHeader("ETag");
      return etag ? resolve(etag) : reject(new Error("storage did not expose the part's ETag (bucket CORS must expose ETag)"));
    };
    xhr.onerror = () => reject(new Error("network error during upload"));
    xhr.send(data);
  });
}

async function upload(form) {
  const file = form.file.files[0];
  const bar = $("#upload-progress");
  say(`Computing the SHA-256 of ${file.name}…`);
  const declared = {
    title: form.title.value, kind: form.kind.value, language: form.language.value,
    tags: form.tags.value.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean),
    media_type: MEDIA_TYPES.has(file.type) ? file.type : "application/octet-stream", size_bytes: file.size,
    sha256: await hashOf(file),
  };
  bar.value = 0;
  if (form.multipart.checked) declared.upload_method = "MULTIPART";
  const created = await api("POST", "/v1/assets", { body: declared });
  const up = created.upload;
  const progress = (done) => { bar.value = Math.round((100 * done) / Math.max(file.size, 1)); };
  let asset;
  if (up.method === "PUT") {
    await put(up.url, file, up.headers, progress);
    asset = await api("POST", `/v1/assets/${created.asset.id}/complete`, { body: {} });
  } else {
    const parts = [];
    let sent = 0;
    for (const p of up.parts) {
      const chunk = file.slice((p.part_number - 1) * up.part_size, p.part_number * up.part_size);
      const etag = await put(p.url, chunk, {}, (n) => progress(sent + n), true);
      sent += chunk.size;
      parts.push({ part_number: p.part_number, etag });
    }
    asset = await api("POST", `/v1/assets/${created.asset.id}/complete`, { body: { parts } });
  }
  bar.value = 100;
  form.reset();
  $("#file-sha256").textContent = "—";
  await loadAssets();
  say(`${asset.title}: ${asset.status}${asset.status_reason ? ` (${asset.status_reason})` : ""}.`, asset.status === "available" ? "success" : "error");
}

function size(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes, u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u += 1; }
  return u ? `${n.toFixed(1)} ${units[u]}` : `${bytes} bytes`;
}

async function loadAssets() {
  const select = $("#offer-asset");
  const chosen = select.value;
  const options = [];
  await pagedTable({
    tbody: $("#assets-table tbody"),
    more: $("#assets-more"),
    path: "/v1/assets",
    params: {},
    colspan: 5,
    empty: "No assets yet.",
    row: async (a) => {
      remember(a.id, a.title);
      if (a.status === "available") options.push(html`<option value="${a.id}">${a.title}</option>`);
      const pools = await Promise.all(a.pool_ids.map(nameOf));
      return html`<tr><td>${a.title}</td><td class="status-${a.status}">${a.status}</td><td>${size(a.size_bytes)}</td>
        <td>${pools.join(", ") || "—"}</td>
        <td><button type="button" class="show-offers" data-asset="${a.id}" aria-label="Offers of ${a.title}">Offers</button></td></tr>`;
    },
  });
  render(select, html`${options}`);
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

async function showOffers(assetId) {
  const items = [];
  for await (const page of pages("/v1/offers", { asset_id: assetId })) items.push(...page);
  const box = $("#offers-of");
  box.hidden = false;
  render(box, html`<h3>Offers on ${await nameOf(assetId)}</h3><ul>${items.length ? items.map((o) => html`<li>${o.id}: ${MODEL[o.pricing.model]} ${price(o.pricing)} — ${o.uses.join(", ")} — ${o.status}
    ${o.status === "active" ? html`<button type="button" class="retire" data-offer="${o.id}" data-asset="${assetId}">Retire</button>` : ""}</li>`) : html`<li>No offers.</li>`}</ul>`);
}

async function createOffer(form) {
  const uses = [...form.querySelectorAll("input[name=uses]:checked")].map((i) => i.value);
  const model = form.model.value;
  const pricing = { model, currency: "USD", amount_micros: model === "free" ? 0 : toMicros(form.price.value) };
  if (model === "per_unit") pricing.unit = form.unit.value;
  if (model === "subscription") pricing.period_days = Number(form.period_days.value);
  const offer = await api("POST", "/v1/offers", { body: { asset_id: form.asset_id.value, uses, pricing } });
  say(`Offer ${offer.id} created: ${MODEL[offer.pricing.model]} ${price(offer.pricing)}.`, "success");
  await showOffers(form.asset_id.value);
}

function since(days) { return new Date(Date.now() - days * 86400e3).toISOString().slice(0, 10); }

async function usageRows(tbody, items) {
  const names = await Promise.all(items.map((i) => (/^(ast|acct)_/.test(i.key) ? nameOf(i.key) : i.key)));
  render(tbody, items.length
    ? html`${items.map((i, n) => html`<tr><td>${names[n]}</td><td>${i.units}</td><td>${i.accesses}</td><td>${money(i.amount_micros, i.currency || "USD")}</td></tr>`)}`
    : html`<tr><td colspan="4">No usage yet.</td></tr>`);
}

async function loadPublisher() {
  await loadAssets();
  const from = since(30);
  const [byDay, byAsset, byBuyer] = await Promise.all([
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "day", from } }),
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "asset", from } }),
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "buyer", from } }),
  ]);
  barChart($("#pub-chart"), byDay.items.map((i) => ({ key: i.key, value: i.amount_micros || i.units + i.accesses })),
    { label: "Revenue by day", format: (v) => money(v) });
  // Licences first: each names its buyer (buyer names are not public elsewhere), so usage by buyer shows names too.
  await pagedTable({
    tbody: $("#pub-licences tbody"),
    more: $("#pub-licences-more"),
    path: "/v1/licenses",
    params: { as: "publisher" },
    colspan: 5,
    empty: "No licences yet.",
    row: async (l) => {
      remember(l.buyer_id, l.buyer_name);
      return html`<tr data-licence="${l.id}"><td>${await nameOf(l.scope.id)}</td><td title="${l.buyer_id}">${l.buyer_name || l.buyer_id}</td><td>${l.use}</td><td>${badge(l)}</td>
      <td>${l.spent_micros === undefined ? "—" : money(l.spent_micros, currencyOf(l))}</td></tr>`;
    },
  });
  await usageRows($("#pub-by-asset tbody"), byAsset.items);
  await usageRows($("#pub-by-buyer tbody"), byBuyer.items);
  document.querySelectorAll(".statement-form input[name=period]").forEach((i) => { if (!i.value) i.value = new Date().toISOString().slice(0, 7); });
}

// A statement (API 1.1): one total row per currency (never a sum across currencies), open or closed (a closed one
// never changes again and shows its sha256), and the pool distributions booked in the period with what they carried.
async function showStatement(period, target) {
  const st = await api("GET", `/v1/statements/${period}`);
  const totals = Array.isArray(st.totals) ? st.totals : [{ currency: st.lines[0]?.currency || "USD", ...st.totals }];
  const dists = st.distributions || [];
  const [names, pools] = await Promise.all([
    Promise.all(st.lines.map((l) => nameOf(l.asset_id))),
    Promise.all(dists.map((d) => nameOf(d.pool_id))),
  ]);
  const status = st.status || "open";
  const seal = status === "closed"
    ? html`<p class="seal" id="${target.id}-seal"><span class="badge status-closed">closed</span> on ${st.closed_at}; it never changes again.
        SHA-256 <code class="sha">${st.sha256}</code></p>`
    : html`<p class="seal hint" id="${target.id}-seal"><span class="badge status-open">open</span> Amounts can still change until the period is closed.</p>`;
  const distributed = dists.some((d) => d.share_micros < 0 || d.carried_in_micros || d.carried_forward_micros);
  // who the statement's licences are with, by the names they show (frozen with the money when the period closed)
  const others = (st.parties || []).filter((p) => p.account_id !== st.account_id);
  const parties = others.length
    ? html`<p class="parties" id="${target.id}-parties">With: ${others.map((p, n) => html`${n ? ", " : ""}<strong>${p.name}</strong> <code class="hint">${p.account_id}</code>`)}</p>`
    : "";
  render(target, html`${seal}${parties}<div class="scroll" tabindex="0" role="region" aria-label="Statement lines"><table><caption>Statement ${st.period} (${status})</caption>
    <thead><tr><th scope="col">Content</th><th scope="col">Licence</th><th scope="col">Use</th><th scope="col">Units</th><th scope="col">Gross</th><th scope="col">Fee</th><th scope="col">Net</th></tr></thead>
    <tbody>${st.lines.map((l, n) => html`<tr><td>${names[n]}</td><td>${l.license_id}</td><td>${l.use}</td><td>${l.units}</td><td>${money(l.gross_micros, l.currency)}</td><td>${money(l.fee_micros, l.currency)}</td><td>${money(l.net_micros, l.currency)}</td></tr>`)}
    ${totals.length ? "" : html`<tr class="total empty"><th scope="row" colspan="7">Nothing charged in ${st.period}</th></tr>`}
    ${totals.map((t) => html`<tr class="total" data-currency="${t.currency}"><th scope="row" colspan="3">Total ${t.currency}</th><td>${t.units ?? ""}</td><td>${money(t.gross_micros, t.currency)}</td><td>${money(t.fee_micros, t.currency)}</td><td>${money(t.net_micros, t.currency)}</td></tr>`)}
    ${totals.filter((t) => t.distributions_micros).map((t) => html`<tr class="total distributions" data-currency="${t.currency}"><th scope="row" colspan="6">Pool distributions booked in ${st.period} (${t.currency})</th><td>${money(t.distributions_micros, t.currency)}</td></tr>`)}</tbody></table></div>
    ${dists.length ? html`<div class="scroll" tabindex="0" role="region" aria-label="Pool distributions"><table class="distributions"><caption>Pool distributions booked in ${st.period}</caption>
      <thead><tr><th scope="col">Pool</th><th scope="col">Distributes</th><th scope="col">Accesses</th><th scope="col">Charged</th><th scope="col">Pool net</th>
        ${distributed ? html`<th scope="col">Carried in</th><th scope="col">Carried forward</th>` : ""}<th scope="col">${distributed ? "Share / paid out" : "Share"}</th></tr></thead>
      <tbody>${dists.map((d, n) => html`<tr><td>${pools[n]}</td><td>${d.distributed_period || "—"}</td><td>${d.accesses ?? d.units ?? ""}</td>
        <td>${d.charged_micros === undefined ? "—" : money(d.charged_micros, d.currency)}</td><td>${money(d.pool_net_micros || 0, d.currency)}</td>
        ${distributed ? html`<td>${money(d.carried_in_micros || 0, d.currency)}</td><td>${money(d.carried_forward_micros || 0, d.currency)}</td>` : ""}
        <td>${money(d.share_micros, d.currency)}</td></tr>`)}</tbody></table></div>` : ""}`);
}

function saveFile(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type }));
  link.download = name;
  link.click();
}

async function downloadCsv(period) {
  saveFile(`statement-${period}.csv`, await api("GET", `/v1/statements/${period}`, { accept: "text/csv" }), "text/csv");
  say(`Statement ${period} downloaded.`, "success");
}

// -------------------------------------------------------------------------------------------------- buyer
const STATUS_NOTE = {
  lapsed: "a renewal would have exceeded the budget cap",
  revoked: "revoked by the publisher",
  cancelled: "cancelled",
};
const badge = (l) => html`<span class="badge status-${l.status}" title="${STATUS_NOTE[l.status] || ""}">${l.status}</span>`;
const currencyOf = (l) => l.terms?.pricing?.currency || "USD";
// What a licence has left of its cap: the server's remaining_micros (API 1.1), else cap minus spent.
const leftOf = (l) => (l.remaining_micros ?? (l.budget_cap_micros == null ? null : l.budget_cap_micros - (l.spent_micros || 0)));

// Remaining budget first (what the buyer acts on), then spent and the cap, and a meter of the cap used.
function budgetCell(l) {
  const cur = currencyOf(l);
  const cap = l.budget_cap_micros;
  if (l.spent_micros === undefined) return html`<span class="budget">${cap == null ? "no cap" : `cap ${money(cap, cur)}`}</span>`;
  if (cap == null) return html`<span class="budget"><span class="spent">${money(l.spent_micros, cur)} spent</span><br><span class="hint">no cap</span></span>`;
  const left = leftOf(l);
  return html`<span class="budget"><strong class="left">${money(left, cur)} left</strong><br>
    <span class="hint spent">${money(l.spent_micros, cur)} spent of ${money(cap, cur)}</span><br>
    <meter min="0" max="${cap}" low="${Math.floor(cap * 0.5)}" high="${Math.floor(cap * 0.8)}" optimum="0" value="${Math.min(l.spent_micros, cap)}"
      aria-label="Budget used: ${money(l.spent_micros, cur)} of ${money(cap, cur)}"></meter></span>`;
}

const licencesById = new Map();

async function loadBuyer() {
  const [bal, byDay] = await Promise.all([
    api("GET", "/v1/balance"),
    api("GET", "/v1/usage", { params: { as: "buyer", group_by: "day", from: since(30) } }),
  ]);
  $("#balance").textContent = `Balance: ${money(bal.balance_micros, bal.currency)}`;
  barChart($("#buyer-chart"), byDay.items.map((i) => ({ key: i.key, value: i.amount_micros || i.units + i.accesses })),
    { label: "Spend by day", format: (v) => money(v) });
  await loadBuyerLicences();
  document.querySelectorAll(".statement-form input[name=period]").forEach((i) => { if (!i.value) i.value = new Date().toISOString().slice(0, 7); });
}

async function loadBuyerLicences() {
  const status = $("#buyer-status").value;
  await pagedTable({
    tbody: $("#buyer-licences tbody"),
    more: $("#buyer-licences-more"),
    path: "/v1/licenses",
    params: { as: "buyer", status },
    colspan: 7,
    empty: status ? `No ${status} licences.` : "No licences yet.",
    row: async (l) => {
      remember(l.publisher_id, l.publisher_name);
      const [what, who] = await Promise.all([nameOf(l.scope.id), nameOf(l.publisher_id)]);
      remember(l.id, what);
      licencesById.set(l.id, l);
      const capped = l.budget_cap_micros != null;
      const capButton = capped && (l.status === "active" || l.status === "lapsed") ? html`
          <button type="button" class="cap${l.status === "lapsed" ? "" : " secondary"}" data-licence="${l.id}" aria-label="${l.status === "lapsed" ? "Raise" : "Change"} the budget cap of ${what}">${l.status === "lapsed" ? "Raise cap" : "Budget cap"}</button>` : "";
      return html`<tr data-licence="${l.id}" data-status="${l.status}"><td>${what}</td><td>${who}</td><td>${l.use}</td>
        <td>${MODEL[l.terms.pricing.model]} ${price(l.terms.pricing)}</td>
        <td>${badge(l)}${l.status === "lapsed" ? html`<br><span class="hint">budget cap reached</span>` : ""}</td>
        <td>${budgetCell(l)}</td>
        <td><span class="actions">${l.status === "active" ? html`
          <button type="button" class="certificate" data-licence="${l.id}" aria-label="Download the certificate of ${what}">Certificate</button>${capButton}
          <button type="button" class="cancel secondary" data-licence="${l.id}" aria-label="Cancel the licence on ${what}">Cancel</button>` : capButton || "—"}</span></td></tr>`;
    },
  });
}

// Changing a cap moves money (it decides how much more may be charged), so it goes through a confirmation that says
// what the new cap allows; the marketplace refuses a cap below what was spent, and explains a passing refusal.
async function startCap(id) {
  const l = licencesById.get(id);
  const what = await nameOf(id);
  const cur = currencyOf(l);
  const cap = l.budget_cap_micros;
  const spent = l.spent_micros ?? null;
  const lapsed = l.status === "lapsed";
  const p = l.terms.pricing;
  let wanted = null;
  const body = html`
    <dl>
      <dt>Content</dt><dd>${what}</dd>
      <dt>Status</dt><dd>${badge(l)}</dd>
      <dt>Pricing</dt><dd>${MODEL[p.model]} ${price(p)}</dd>
      <dt>Budget cap</dt><dd>${money(cap, cur)}</dd>
      ${spent === null ? "" : html`<dt>Spent</dt><dd>${money(spent, cur)}</dd><dt>Left</dt><dd>${money(leftOf(l), cur)}</dd>`}
    </dl>
    <label>New budget cap (${cur}) <input id="cap-new" inputmode="decimal" autocomplete="off" placeholder="e.g. 25.00"></label>
    <p id="cap-effect" class="hint" aria-live="polite"></p>
    ${lapsed ? html`<p class="warning" id="cap-lapsed">This licence lapsed: renewing it would have exceeded its cap. A higher cap
      makes it active again, and its renewal (${price(p)}) is then charged within the new cap.</p>` : ""}
    <p id="confirm-error" class="error-text" role="alert"></p>`;
  confirmDialog({
    title: lapsed ? "Raise the budget cap" : "Change the budget cap",
    body,
    confirmLabel: "Set budget cap",
    update: () => {
      const text = $("#cap-new").value.trim();
      const effect = $("#cap-effect");
      wanted = null;
      if (!text) { effect.textContent = ""; return; }
      let micros;
      try { micros = toMicros(text); } catch (err) { effect.textContent = err.message; return; }
      if (spent !== null && micros < spent) { effect.textContent = `Below what it has spent (${money(spent, cur)}).`; return; }
      if (micros === cap) { effect.textContent = "That is the current cap."; return; }
      if (lapsed && micros <= cap) { effect.textContent = `Only a cap above ${money(cap, cur)} makes it active again.`; return; }
      wanted = micros;
      effect.textContent = spent === null
        ? `New cap ${money(micros, cur)}.`
        : `New cap ${money(micros, cur)}: up to ${money(micros - spent, cur)} more may be charged on this licence.`;
    },
    ready: () => wanted !== null,
    onConfirm: async () => {
      const got = await api("PATCH", `/v1/licenses/${id}`, { body: { budget_cap_micros: wanted } });
      const again = lapsed && got.status === "active" ? " It is active again." : "";
      const left = leftOf(got);
      say(`Budget cap of ${what} set to ${money(got.budget_cap_micros, cur)}${left == null ? "" : `; ${money(left, cur)} left`}.${again}`, "success");
      await loadBuyerLicences();
    },
  });
}

async function downloadCertificate(id) {
  const got = await api("GET", `/v1/licenses/${id}/certificate`);
  saveFile(`licence-${id}.jwt`, got.certificate, "application/jwt");
  say(`Certificate of ${id} downloaded.`, "success");
}

async function startCancel(id) {
  const what = await nameOf(id);
  confirmDialog({
    title: "Cancel this licence?",
    body: html`<p>The licence on <strong>${what}</strong> (${id}) ends now: downloads stop at the next request and a
      subscription is not charged again. This cannot be undone.</p><p id="confirm-error" class="error-text" role="alert"></p>`,
    confirmLabel: "Cancel licence",
    onConfirm: async () => {
      await api("POST", `/v1/licenses/${id}/cancel`, { body: {} });
      say(`Licence ${id} cancelled.`, "success");
      await loadBuyer();
    },
  });
}

// ---------------------------------------------------------------------------------------------- wiring
document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", guard(() => signIn($("#api-key").value.trim())));
  $("#sign-out").addEventListener("click", signOut);
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  $("#search-form").addEventListener("submit", guard((e) => {
    const f = e.target;
    state.filters = { q: f.q.value, kind: f.kind.value, use: f.use.value, max_price_micros: f.max_price.value ? toMicros(f.max_price.value) : "" };
    return loadCatalogue(false);
  }));
  $("#more").addEventListener("click", guard(() => loadCatalogue(true)));
  $("#results").addEventListener("click", guard((e) => {
    const b = e.target.closest("button.buy");
    return b ? startPurchase(b.dataset.offer, b.closest("li").querySelector("select.use").value) : null;
  }));
  $("#upload-form").file.addEventListener("change", (e) => { const f = e.target.files[0]; if (f) hashOf(f).catch(sayError); });
  $("#upload-form").addEventListener("submit", guard((e) => upload(e.target)));
  $("#offer-form").addEventListener("submit", guard((e) => createOffer(e.target)));
  $("#assets-table").addEventListener("click", guard((e) => {
    const b = e.target.closest("button.show-offers");
    return b ? showOffers(b.dataset.asset) : null;
  }));
  $("#offers-of").addEventListener("click", guard(async (e) => {
    const b = e.target.closest("button.retire");
    if (!b) return;
    await api("DELETE", `/v1/offers/${b.dataset.offer}`);
    say(`Offer ${b.dataset.offer} retired.`, "success");
    await showOffers(b.dataset.asset);
  }));
  $("#buyer-licences").addEventListener("click", guard((e) => {
    const cert = e.target.closest("button.certificate");
    if (cert) return downloadCertificate(cert.dataset.licence);
    const cap = e.target.closest("button.cap");
    if (cap) return startCap(cap.dataset.licence);
    const cancel = e.target.closest("button.cancel");
    return cancel ? startCancel(cancel.dataset.licence) : null;
  }));
  $("#buyer-status").addEventListener("change", () => loadBuyerLicences().catch(sayError));
  document.querySelectorAll(".statement-form").forEach((form) => {
    const target = document.getElementById(form.dataset.target);
    // this month from the start: a required empty period would make an early "Show" do nothing (the browser refuses
    // the submit) while the tab is still loading
    if (!form.period.value) form.period.value = new Date().toISOString().slice(0, 7);
    form.addEventListener("submit", guard((e) => showStatement(e.target.period.value, target)));
    form.querySelector(".statement-csv").addEventListener("click", guard(() => downloadCsv(form.period.value)));
  });
  wireOperator();
  if (state.key) signIn(state.key).catch(sayError);
});

// for the operator's screen (operator.js)
export { api, confirmDialog, guard, render, say };
