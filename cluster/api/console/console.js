// SafeCity control-room console: plain JavaScript against /api/v1, no build step, nothing external.
// Text from the API is only ever set with textContent, never as HTML.
"use strict";

const API = "/api/v1";
const state = {
  key: sessionStorage.getItem("safecity-key"), role: null, alerts: new Map(), selected: null, stream: null, refresh: null,
};
const $ = (selector) => document.querySelector(selector);

function say(text, ok = false) {
  const message = $("#message");
  message.textContent = text;
  message.className = ok ? "ok" : "";
}

async function call(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.key}` }, options.headers || {});
  const response = await fetch(API + path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let detail = `${response.status}`;
    try { detail = `${response.status}: ${(await response.json()).detail}`; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.appendChild(td);
  return td;
}

function button(row, label, action) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.textContent = label;
  b.addEventListener("click", action);
  td.appendChild(b);
  row.appendChild(td);
}

function time(iso) { return iso ? new Date(iso).toLocaleString() : ""; }

// ---- sign-in and navigation ----

async function signIn(key) {
  state.key = key;
  try {
    const me = await call("/me");
    state.role = me.role;
    sessionStorage.setItem("safecity-key", key);
    $("#who").textContent = `${me.name} (${me.role})`;
    $("#sign-in").hidden = true;
    $("#nav").hidden = false;
    $("#sign-out").hidden = false;
    const pages = [...document.querySelectorAll("#nav button")];
    let first = null;
    for (const b of pages) {
      b.hidden = !b.dataset.roles.split(" ").includes(me.role);
      if (!b.hidden && first === null) first = b.dataset.page;
    }
    say("");
    if (first) show(first); else say(`role ${me.role} has no console pages; use the API`);
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem("safecity-key");
    say(`sign-in refused (${error.message})`);
  }
}

function signOut() {
  sessionStorage.removeItem("safecity-key");
  if (state.stream) state.stream.abort();
  location.reload();
}

function show(page) {
  clearInterval(state.refresh);
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== `page-${page}`;
  for (const b of document.querySelectorAll("#nav button")) b.classList.toggle("active", b.dataset.page === page);
  const load = { alerts: loadAlerts, cameras: loadCameras, watchlist: loadSubjects, hotlist: loadPlates, audit: loadAudit }[page];
  load().catch((error) => say(error.message));
  if (page === "cameras") state.refresh = setInterval(() => loadCameras().catch((error) => say(error.message)), 5000);
}

// ---- alerts ----

function alertRow(alert) {
  const row = document.createElement("tr");
  row.id = `alert-${alert.alert_id}`;
  row.className = alert.status;
  cell(row, time(alert.captured_at));
  cell(row, alert.camera_name || alert.camera_id);
  cell(row, alert.zone);
  cell(row, alert.kind);
  cell(row, alert.kind === "face" ? `${alert.subject_label} (${alert.subject_id})` : `${alert.plate_text} → ${alert.hotlist_plate}`);
  cell(row, alert.similarity === null ? "" : `${alert.similarity.toFixed(3)} / ${alert.threshold.toFixed(2)}`);
  cell(row, alert.status);
  row.addEventListener("click", () => openAlert(alert.alert_id));
  return row;
}

function putAlert(alert, atTop) {
  state.alerts.set(alert.alert_id, alert);
  const body = $("#alerts tbody");
  const row = alertRow(alert);
  const old = document.getElementById(row.id);
  if (old) old.replaceWith(row); else if (atTop) body.prepend(row); else body.appendChild(row);
  if (state.selected === alert.alert_id) row.classList.add("selected");
}

async function loadAlerts() {
  const page = await call("/alerts?limit=100");
  $("#alerts tbody").replaceChildren();
  for (const alert of page.items) putAlert(alert, false);
  if (!state.stream) follow();
}

async function follow() {
  // Server-sent events over fetch: EventSource cannot send the Authorization header.
  state.stream = new AbortController();
  $("#stream-state").textContent = "(connecting)";
  try {
    const response = await fetch(`${API}/alerts/stream`, {
      headers: { Authorization: `Bearer ${state.key}` }, signal: state.stream.signal,
    });
    if (!response.ok) throw new Error(`stream: ${response.status}`);
    $("#stream-state").textContent = "(live)";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) putAlert(JSON.parse(data), true);
      }
    }
  } catch (error) {
    if (error.name === "AbortError") return;
  }
  $("#stream-state").textContent = "(reconnecting)";
  state.stream = null;
  setTimeout(() => { if (!state.stream) follow(); }, 3000);
}

async function openAlert(alertId) {
  const alert = await call(`/alerts/${encodeURIComponent(alertId)}`);
  state.selected = alertId;
  for (const row of document.querySelectorAll("#alerts tbody tr")) row.classList.toggle("selected", row.id === `alert-${alertId}`);
  $("#alert-detail").hidden = false;
  $("#detail-title").textContent = alert.kind === "face"
    ? `Face: ${alert.subject_label} (${alert.subject_id})` : `Plate: ${alert.plate_text}`;
  $("#detail-crop").src = `data:image/jpeg;base64,${alert.evidence_jpeg_base64}`;
  const photo = $("#detail-photo");
  photo.hidden = !alert.enrolment_photo_base64;
  if (alert.enrolment_photo_base64) photo.src = `data:image/jpeg;base64,${alert.enrolment_photo_base64}`;
  const facts = [
    ["Camera", `${alert.camera_name || ""} (${alert.camera_id})`], ["Zone", alert.zone], ["Captured", time(alert.captured_at)],
    ["Similarity", alert.similarity === null ? "" : `${alert.similarity.toFixed(3)} (threshold ${alert.threshold})`],
    ["Category", alert.subject_category], ["Hotlist", alert.hotlist_plate ? `${alert.hotlist_plate}: ${alert.plate_reason}` : null],
    ["Status", alert.status],
  ];
  const list = $("#detail-facts");
  list.replaceChildren();
  for (const [name, value] of facts) {
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value;
    list.append(dt, dd);
  }
  const reviewed = alert.review;
  $("#review-form").hidden = Boolean(reviewed);
  $("#review-done").textContent = reviewed
    ? `${reviewed.decision} by ${reviewed.officer} at ${time(reviewed.reviewed_at)}: ${reviewed.reason}`
      + (reviewed.keep ? " (kept beyond retention)" : "") : "";
}

async function review(decision) {
  const alertId = state.selected;
  const body = {
    decision, reason: $("#review-reason").value, officer: $("#review-officer").value,
    keep: $("#review-keep").checked,  // the API refuses keep on a rejection, with its reason
  };
  await call(`/alerts/${encodeURIComponent(alertId)}/review`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const alert = Object.assign({}, state.alerts.get(alertId), { status: decision });
  putAlert(alert, false);
  $("#review-reason").value = "";
  $("#review-keep").checked = false;
  say(`alert ${decision}`, true);
  await openAlert(alertId);
}

// ---- cameras ----

async function loadCameras() {
  const cameras = await call("/cameras");
  const body = $("#cameras tbody");
  body.replaceChildren();
  for (const c of cameras) {
    const row = document.createElement("tr");
    row.id = `camera-${c.id}`;
    const live = c.live;
    const state = !c.enabled ? "disabled" : live ? live.state : "not running";
    const age = live && live.last_frame_age_s !== null ? `${live.last_frame_age_s.toFixed(1)} s ago` : "";
    for (const value of [c.id, c.name, c.kind, c.zone, state]) cell(row, value);
    for (const value of live ? [live.frames_read, live.frames_analysed, live.frames_dropped, live.frames_shed, live.reconnects] : ["", "", "", "", ""]) cell(row, value);
    cell(row, age);
    cell(row, live ? live.stream_error : "");
    body.appendChild(row);
  }
}

// ---- watchlist and hotlist ----

async function loadSubjects() {
  const subjects = await call("/watchlist/subjects");
  const body = $("#subjects tbody");
  body.replaceChildren();
  for (const s of subjects) {
    const row = document.createElement("tr");
    for (const value of [s.subject_id, s.label, s.category, s.photos.length, s.threshold ?? "default", s.added_by]) cell(row, value);
    button(row, "Remove", async () => {
      if (!confirm(`Remove ${s.subject_id}?`)) return;
      await call(`/watchlist/subjects/${encodeURIComponent(s.subject_id)}`, { method: "DELETE" }).catch((e) => say(e.message));
      await loadSubjects();
    });
    body.appendChild(row);
  }
}

async function enrol(form) {
  const data = new FormData(form);
  if (!data.get("threshold")) data.delete("threshold");
  const subject = await call("/watchlist/subjects", { method: "POST", body: data });
  say(`enrolled ${subject.subject_id} with ${subject.photos.length} photo(s)`, true);
  form.reset();
  await loadSubjects();
}

async function loadPlates() {
  const plates = await call("/hotlist?all=true");
  const body = $("#plates tbody");
  body.replaceChildren();
  for (const p of plates) {
    const row = document.createElement("tr");
    for (const value of [p.plate, p.reason, p.added_by, p.expires_at ? `${time(p.expires_at)}${p.expired ? " (expired)" : ""}` : "never"]) cell(row, value);
    button(row, "Remove", async () => {
      await call(`/hotlist/${encodeURIComponent(p.plate)}`, { method: "DELETE" }).catch((e) => say(e.message));
      await loadPlates();
    });
    body.appendChild(row);
  }
}

async function addPlate(form) {
  const data = new FormData(form);
  const expires = data.get("expires");
  const body = { plate: data.get("plate"), reason: data.get("reason"), expires_at: expires ? new Date(expires).toISOString() : null };
  const entry = await call("/hotlist", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  say(`hotlisted ${entry.plate}`, true);
  form.reset();
  await loadPlates();
}

// ---- audit ----

async function loadAudit() {
  const page = await call("/audit?limit=200");
  $("#chain").textContent = page.chain_intact
    ? `${page.total} entries; hash chain intact` : `HASH CHAIN BROKEN: ${page.chain_error}`;
  const body = $("#audit tbody");
  body.replaceChildren();
  for (const e of page.entries) {
    const row = document.createElement("tr");
    for (const value of [e.at, e.actor, e.action, e.target, JSON.stringify(e.details)]) cell(row, value);
    body.appendChild(row);
  }
}

// ---- wiring ----

$("#sign-in-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("#key").value.trim()); });
$("#sign-out").addEventListener("click", signOut);
for (const b of document.querySelectorAll("#nav button")) b.addEventListener("click", () => show(b.dataset.page));
$("#review-form").addEventListener("submit", (event) => {
  event.preventDefault();
  review(event.submitter.value).catch((error) => say(error.message));
});
$("#enrol-form").addEventListener("submit", (event) => { event.preventDefault(); enrol(event.target).catch((e) => say(e.message)); });
$("#plate-form").addEventListener("submit", (event) => { event.preventDefault(); addPlate(event.target).catch((e) => say(e.message)); });
if (state.key) signIn(state.key);
