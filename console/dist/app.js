// Imprimatur web console: a static page that calls the public API with the user's key (session storage only).
import { barChart } from "./chart.js";

const $ = (sel) => document.querySelector(sel);
const state = { key: sessionStorage.getItem("imprimatur-key"), me: null, cursor: null, filters: {}, titles: {} };
const usd = (micros) => (micros / 1e6).toFixed(6);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

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
  const resp = await fetch(url, { method, headers: h, body: body !== undefined ? JSON.stringify(body) : undefined });
  if (!resp.ok) {
    let problem = null;
    try { problem = await resp.json(); } catch { /* not JSON */ }
    throw new ApiError(resp.status, problem);
  }
  if (accept === "text/csv") return resp.text();
  return resp.status === 204 ? null : resp.json();
}

function say(message, kind = "info") {
  const el = $("#alert");
  el.hidden = false;
  el.className = `alert ${kind}`;
  el.textContent = message;
}

function sayError(err) {
  if (err instanceof ApiError) {
    const fields = (err.body.errors || []).map((e) => `${e.field || e.location}: ${e.message}`).join("; ");
    say(`${err.message}${fields ? ` — ${fields}` : ""} (${err.status} ${err.body.code || ""})`, "error");
  } else {
    say(String(err), "error");
  }
}

const guard = (fn) => async (event) => {
  event?.preventDefault?.();
  try { await fn(event); } catch (err) { sayError(err); }
};

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
  document.querySelectorAll(".tab[data-role]").forEach((b) => { b.hidden = !state.me.roles.includes(b.dataset.role) && !state.me.roles.includes("admin"); });
  show("catalogue");
  say(`Signed in as ${state.me.name}.`);
}

function signOut() {
  sessionStorage.removeItem("imprimatur-key");
  state.key = null;
  state.me = null;
  state.titles = {};
  // forget what the previous account saw
  document.querySelectorAll("tbody, #results, #statement, #offers-of, .chart").forEach((el) => el.replaceChildren());
  $("#offers-of").hidden = true;
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
  ({ catalogue: loadCatalogue, publisher: loadPublisher, buyer: loadBuyer })[tab]().catch(sayError);
}

// ---------------------------------------------------------------------------------------------- catalogue
function price(p) {
  if (p.model === "free") return "free";
  return `${p.currency} ${usd(p.amount_micros)}${p.unit ? ` per ${esc(p.unit)}` : ""}${p.period_days ? ` / ${p.period_days} days` : ""}`;
}

let catalogueRequest = 0;

async function loadCatalogue(append = false) {
  const mine = ++catalogueRequest; // a slower, older search must not overwrite a newer one's results
  const page = await api("GET", "/v1/catalog/assets", { params: { ...state.filters, limit: 12, cursor: append ? state.cursor : null } });
  if (mine !== catalogueRequest) return;
  state.cursor = page.next_cursor;
  $("#more").hidden = !state.cursor;
  const canBuy = state.me && (state.me.roles.includes("buyer"));
  const html = page.items.map((a) => `
    <article class="card asset" aria-label="${esc(a.title)}">
      <h3>${esc(a.title)}</h3>
      <p class="meta">${esc(a.kind)} · ${esc(a.language)} · ${a.tags.map(esc).join(", ")}</p>
      <ul class="offers">${a.offers.map((o) => `
        <li><span>${esc(o.pricing.model)} ${price(o.pricing)} — ${o.uses.map(esc).join(", ")}</span>
        ${canBuy ? `<span class="buy-box"><label class="sr" for="use-${esc(o.id)}">Use for ${esc(a.title)}</label>
          <select id="use-${esc(o.id)}" class="use">${o.uses.map((u) => `<option>${esc(u)}</option>`).join("")}</select>
          <button type="button" class="buy" data-offer="${esc(o.id)}" aria-label="Take licence on ${esc(a.title)} (${esc(o.pricing.model)})">Take licence</button></span>` : ""}</li>`).join("") || "<li>No active offer.</li>"}
      </ul>
    </article>`).join("");
  if (append) $("#results").insertAdjacentHTML("beforeend", html); else $("#results").innerHTML = html || "<p>Nothing found.</p>";
}

async function buy(offerId, use) {
  const got = await api("POST", "/v1/licenses", { body: { offer_id: offerId, use }, headers: { "Idempotency-Key": crypto.randomUUID() } });
  say(`Licence ${got.license.id} granted for ${use}.`, "success");
}

// ---------------------------------------------------------------------------------------------- publisher
const MEDIA_TYPES = new Set(("text/plain text/html text/markdown text/csv application/json application/x-ndjson application/xml "
  + "application/pdf application/zip application/gzip application/x-tar application/epub+zip application/parquet image/png "
  + "image/jpeg image/webp audio/mpeg audio/wav video/mp4 application/octet-stream").split(" "));
async function sha256Hex(file) {
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
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
  bar.value = 0;
  say(`Computing the SHA-256 of ${file.name}…`);
  const declared = {
    title: form.title.value, kind: form.kind.value, language: form.language.value,
    tags: form.tags.value.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean),
    media_type: MEDIA_TYPES.has(file.type) ? file.type : "application/octet-stream", size_bytes: file.size,
    sha256: await sha256Hex(file),
  };
  if (form.multipart.checked) declared.upload_method = "MULTIPART";
  const created = await api("POST", "/v1/assets", { body: declared, headers: { "Idempotency-Key": crypto.randomUUID() } });
  const up = created.upload;
  const progress = (done) => { bar.value = Math.round((100 * done) / Math.max(file.size, 1)); };
  let asset;
  if (up.method === "PUT") {
    await put(up.url, file, up.headers, progress);
    asset = await api("POST", `/v1/assets/${created.asset.id}/complete`, { body: {} });
  } else {
    const parts = [];
    let sent = 0;
    for (const part of up.parts) {
      const chunk = file.slice((part.part_number - 1) * up.part_size, part.part_number * up.part_size);
      const etag = await put(part.url, chunk, {}, (n) => progress(sent + n), true);
      sent += chunk.size;
      parts.push({ part_number: part.part_number, etag });
    }
    asset = await api("POST", `/v1/assets/${created.asset.id}/complete`, { body: { parts } });
  }
  bar.value = 100;
  form.reset();
  await loadAssets();
  say(`${asset.title}: ${asset.status}${asset.status_reason ? ` (${asset.status_reason})` : ""}.`, asset.status === "available" ? "success" : "error");
}

async function loadAssets() {
  const page = await api("GET", "/v1/assets", { params: { limit: 100 } });
  page.items.forEach((a) => { state.titles[a.id] = a.title; });
  $("#assets-table tbody").innerHTML = page.items.map((a) => `
    <tr><td>${esc(a.title)}</td><td class="status-${esc(a.status)}">${esc(a.status)}</td><td>${a.size_bytes}</td>
    <td>${a.pool_ids.map(esc).join(", ") || "—"}</td>
    <td><button type="button" class="show-offers" data-asset="${esc(a.id)}" aria-label="Offers of ${esc(a.title)}">Offers</button></td></tr>`).join("");
  const select = $("#offer-asset");
  const chosen = select.value;
  select.innerHTML = page.items.filter((a) => a.status === "available")
    .map((a) => `<option value="${esc(a.id)}">${esc(a.title)}</option>`).join("");
  if (chosen && [...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

async function showOffers(assetId) {
  const page = await api("GET", "/v1/offers", { params: { asset_id: assetId, limit: 100 } });
  const box = $("#offers-of");
  box.hidden = false;
  box.innerHTML = `<h3>Offers</h3><ul>${page.items.map((o) => `<li>${esc(o.id)}: ${esc(o.pricing.model)} ${price(o.pricing)} — ${esc(o.status)}
    ${o.status === "active" ? `<button type="button" class="retire" data-offer="${esc(o.id)}" data-asset="${esc(assetId)}">Retire</button>` : ""}</li>`).join("") || "<li>No offers.</li>"}</ul>`;
}

async function createOffer(form) {
  const uses = [...form.querySelectorAll("input[name=uses]:checked")].map((i) => i.value);
  const model = form.model.value;
  const pricing = { model, currency: "USD", amount_micros: model === "free" ? 0 : Math.round(Number(form.price.value) * 1e6) };
  if (model === "per_unit") pricing.unit = form.unit.value;
  if (model === "subscription") pricing.period_days = Number(form.period_days.value);
  const offer = await api("POST", "/v1/offers", { body: { asset_id: form.asset_id.value, uses, pricing }, headers: { "Idempotency-Key": crypto.randomUUID() } });
  say(`Offer ${offer.id} created: ${offer.pricing.model} ${price(offer.pricing)}.`, "success");
  await showOffers(form.asset_id.value);
}

function since(days) { return new Date(Date.now() - days * 86400e3).toISOString().slice(0, 10); }

function usageRows(tbody, items) {
  tbody.innerHTML = items.map((i) => `<tr><td>${esc(state.titles[i.key] || i.key)}</td><td>${i.units}</td><td>${i.accesses}</td><td>${usd(i.amount_micros)}</td></tr>`).join("")
    || `<tr><td colspan="4">No usage yet.</td></tr>`;
}

async function loadPublisher() {
  await loadAssets();
  const from = since(30);
  const [byDay, byAsset, byBuyer, lic] = await Promise.all([
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "day", from } }),
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "asset", from } }),
    api("GET", "/v1/usage", { params: { as: "publisher", group_by: "buyer", from } }),
    api("GET", "/v1/licenses", { params: { as: "publisher", limit: 100 } }),
  ]);
  barChart($("#pub-chart"), byDay.items.map((i) => ({ key: i.key, value: i.amount_micros || i.units + i.accesses })),
    { label: "Revenue by day (USD)", format: (v) => usd(v) });
  usageRows($("#pub-by-asset tbody"), byAsset.items);
  usageRows($("#pub-by-buyer tbody"), byBuyer.items);
  $("#pub-licences tbody").innerHTML = lic.items.map((l) => `<tr><td>${esc(l.id)}</td><td>${esc(l.buyer_id)}</td><td>${esc(l.use)}</td><td>${esc(l.status)}</td></tr>`).join("")
    || `<tr><td colspan="4">No licences yet.</td></tr>`;
  const period = $("#statement-form").period;
  if (!period.value) period.value = new Date().toISOString().slice(0, 7);
}

async function showStatement(period) {
  const st = await api("GET", `/v1/statements/${period}`);
  $("#statement").innerHTML = `<div class="scroll" tabindex="0" role="region" aria-label="Statement lines"><table><caption>Statement ${esc(st.period)} (${esc(st.status)})</caption>
    <thead><tr><th scope="col">Licence</th><th scope="col">Asset</th><th scope="col">Use</th><th scope="col">Units</th><th scope="col">Gross</th><th scope="col">Fee</th><th scope="col">Net</th></tr></thead>
    <tbody>${st.lines.map((l) => `<tr><td>${esc(l.license_id)}</td><td>${esc(l.asset_id || "—")}</td><td>${esc(l.use)}</td><td>${l.units}</td><td>${usd(l.gross_micros)}</td><td>${usd(l.fee_micros)}</td><td>${usd(l.net_micros)}</td></tr>`).join("")}
    <tr class="total"><th scope="row" colspan="3">Total</th><td>${st.totals.units}</td><td>${usd(st.totals.gross_micros)}</td><td>${usd(st.totals.fee_micros)}</td><td>${usd(st.totals.net_micros)}</td></tr></tbody></table></div>
    ${st.distributions.map((d) => `<p>Pool ${esc(d.pool_id)}: share ${usd(d.share_micros)} for ${d.units} of ${d.pool_units} units.</p>`).join("")}`;
}

async function downloadCsv(period) {
  const csv = await api("GET", `/v1/statements/${period}`, { accept: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  link.download = `statement-${period}.csv`;
  link.click();
  say(`Statement ${period} downloaded.`, "success");
}

// -------------------------------------------------------------------------------------------------- buyer
async function loadBuyer() {
  const [bal, byDay, lic] = await Promise.all([
    api("GET", "/v1/balance"),
    api("GET", "/v1/usage", { params: { as: "buyer", group_by: "day", from: since(30) } }),
    api("GET", "/v1/licenses", { params: { as: "buyer", limit: 100 } }),
  ]);
  $("#balance").textContent = `Balance: ${bal.currency} ${usd(bal.balance_micros)}`;
  barChart($("#buyer-chart"), byDay.items.map((i) => ({ key: i.key, value: i.amount_micros || i.units + i.accesses })),
    { label: "Spend by day (USD)", format: (v) => usd(v) });
  $("#buyer-licences tbody").innerHTML = lic.items.map((l) => `<tr><td>${esc(l.id)}</td><td>${esc(l.scope.type)} ${esc(l.scope.id)}</td><td>${esc(l.use)}</td><td>${esc(l.terms.pricing.model)}</td><td>${esc(l.status)}</td></tr>`).join("")
    || `<tr><td colspan="5">No licences yet.</td></tr>`;
}

// ---------------------------------------------------------------------------------------------- wiring
document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", guard(() => signIn($("#api-key").value.trim())));
  $("#sign-out").addEventListener("click", signOut);
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  $("#search-form").addEventListener("submit", guard((e) => {
    const f = e.target;
    state.filters = { q: f.q.value, kind: f.kind.value, use: f.use.value,
      max_price_micros: f.max_price.value ? Math.round(Number(f.max_price.value) * 1e6) : "" };
    return loadCatalogue(false);
  }));
  $("#more").addEventListener("click", guard(() => loadCatalogue(true)));
  $("#results").addEventListener("click", guard((e) => {
    const b = e.target.closest("button.buy");
    return b ? buy(b.dataset.offer, b.closest("li").querySelector("select.use").value) : null;
  }));
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
  $("#statement-form").addEventListener("submit", guard((e) => showStatement(e.target.period.value)));
  $("#statement-csv").addEventListener("click", guard(() => downloadCsv($("#statement-form").period.value)));
  if (state.key) signIn(state.key).catch(sayError);
});
