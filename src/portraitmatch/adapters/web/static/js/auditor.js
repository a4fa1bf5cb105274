// The auditor's read-only view: per-outlet figures and charts for a period, from the API's lists of
// sessions, subscriptions and limit hits. Nothing personal is fetched or shown: outlet ids, states,
// outcomes, reason codes and counts only (an auditor key sees every outlet).

import { bars, stackedBars } from "./charts.js";
import { api, ApiError, esc } from "./http.js";
import { applyI18n, installLangToggle, t, tCode } from "./i18n.js";
import { icon } from "./icons.js";

const KEY_STORAGE = "pm.key";
const MAX_SESSIONS = 500; // the API's page size for sessions; more are summarised from the newest
const $ = (id) => document.getElementById(id);
const COLORS = { pass: "#1d7a3a", fail: "#b3261e", retry: "#d49a00", undecided: "#9aa7b0" };

let data = null;

function key() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

function setKey(value) {
  try {
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // nothing to remember without storage
  }
}

function showSignIn(error = "") {
  $("report").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("who").hidden = true;
  $("signin-error").textContent = error;
}

async function fetchAll(days) {
  const since = new Date(Date.now() - days * 86400 * 1000);
  const token = key();
  const [outlets, sessions, hits] = await Promise.all([
    api("/v1/outlets", { token }),
    api(`/v1/sessions?limit=${MAX_SESSIONS}`, { token }),
    api(`/v1/limit-hits?since=${encodeURIComponent(since.toISOString())}&limit=1000`, { token }).catch((err) => {
      if (err instanceof ApiError && err.status === 403) return [];
      throw err;
    }),
  ]);
  const subscriptions = [];
  let after = null;
  for (let page = 0; page < 10; page += 1) {
    const query = `/v1/subscriptions?limit=1000${after !== null ? `&after_id=${after}` : ""}`;
    const batch = (await api(query, { token })).subscriptions;
    subscriptions.push(...batch);
    if (batch.length < 1000) break;
    after = batch[batch.length - 1].id;
  }
  return { since, outlets, sessions: sessions.sessions, subscriptions, hits };
}

function summarise({ since, outlets, sessions, subscriptions, hits }) {
  const names = Object.fromEntries(outlets.map((o) => [o.id, o.name]));
  const rows = new Map();
  const row = (outlet) => {
    if (!rows.has(outlet)) {
      rows.set(outlet, { outlet, name: names[outlet] || outlet, sessions: 0, pass: 0, fail: 0, retry: 0, undecided: 0, registrations: 0, exceptions: 0, hits: 0 });
    }
    return rows.get(outlet);
  };
  const reasons = new Map();
  const inPeriod = sessions.filter((s) => new Date(s.challenge.issued_at) >= since);
  for (const s of inPeriod) {
    const r = row(s.outlet_id);
    r.sessions += 1;
    const outcome = s.decision ? s.decision.outcome : "undecided";
    r[outcome] = (r[outcome] || 0) + 1;
    if (s.decision && s.decision.reasons.includes("SUPERVISOR_EXCEPTION")) r.exceptions += 1;
    if (s.decision && outcome !== "pass") {
      for (const code of s.decision.reasons) {
        if (code === "SUPERVISOR_EXCEPTION") continue;
        reasons.set(code, (reasons.get(code) || 0) + 1);
      }
    }
  }
  for (const sub of subscriptions) {
    if (new Date(sub.started_at) >= since) row(sub.outlet_id).registrations += 1;
  }
  for (const hit of hits) if (hit.outlet_id) row(hit.outlet_id).hits += 1;
  const list = [...rows.values()].sort((a, b) => b.sessions - a.sessions || a.outlet.localeCompare(b.outlet));
  const total = list.reduce(
    (acc, r) => {
      for (const k of ["sessions", "pass", "fail", "retry", "undecided", "registrations", "exceptions", "hits"]) acc[k] += r[k];
      return acc;
    },
    { sessions: 0, pass: 0, fail: 0, retry: 0, undecided: 0, registrations: 0, exceptions: 0, hits: 0 },
  );
  total.hits = hits.length;
  const topReasons = [...reasons.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 8);
  return { list, total, topReasons, truncated: sessions.length >= MAX_SESSIONS, oldest: sessions.at(-1)?.challenge.issued_at };
}

function rate(r) {
  const decided = r.pass + r.fail + r.retry;
  return decided ? `${((100 * r.pass) / decided).toFixed(1)}%` : "—";
}

function draw() {
  if (!data) return;
  const { list, total, topReasons, truncated } = data;
  const figure = (value, label) => `<div class="figure"><div class="value">${esc(value)}</div><div class="label">${esc(t(label))}</div></div>`;
  $("figures").innerHTML = [
    figure(total.sessions, "auditor.sessions"),
    figure(rate(total), "auditor.pass_rate"),
    figure(total.fail, "auditor.failed"),
    figure(total.registrations, "auditor.registrations"),
    figure(total.exceptions, "auditor.exceptions"),
    figure(total.hits, "auditor.limit_hits"),
  ].join("");
  // Chinese characters are about twice as wide as Latin letters.
  const short = (text) => {
    const limit = /[\u3000-\u9fff]/.test(text) ? 11 : 22;
    return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
  };
  if (!list.length) {
    $("chart-outcomes").innerHTML = `<p class="muted">${esc(t("auditor.none"))}</p>`;
  } else {
    $("chart-outcomes").innerHTML = stackedBars(
      list.map((r) => ({ label: short(r.name), values: [r.pass, r.fail, r.retry, r.undecided] })),
      [
        { name: t("auditor.passed"), color: COLORS.pass },
        { name: t("auditor.failed"), color: COLORS.fail },
        { name: t("auditor.retried"), color: COLORS.retry },
        { name: t("auditor.undecided"), color: COLORS.undecided },
      ],
      { title: t("auditor.chart.outcomes") },
    );
  }
  $("chart-reasons").innerHTML = topReasons.length
    ? bars(topReasons.map(([code, n]) => ({ label: short(tCode("reason", code, code).replace(/[.。]$/, "")), value: n })), { color: COLORS.fail, title: t("auditor.chart.reasons") })
    : `<p class="muted">${esc(t(list.length ? "auditor.no_failures" : "auditor.none"))}</p>`;
  const head = ["auditor.outlet", "auditor.sessions", "auditor.passed", "auditor.failed", "auditor.retried", "auditor.pass_rate", "auditor.registrations", "auditor.exceptions", "auditor.limit_hits"];
  const body = list
    .map(
      (r) => `<tr><td>${esc(r.name)} <small class="mono">${esc(r.outlet)}</small></td><td class="num">${r.sessions}</td><td class="num">${r.pass}</td>
      <td class="num">${r.fail}</td><td class="num">${r.retry}</td><td class="num">${rate(r)}</td><td class="num">${r.registrations}</td>
      <td class="num">${r.exceptions}</td><td class="num">${r.hits}</td></tr>`,
    )
    .join("");
  $("table").innerHTML = list.length
    ? `<table data-el="outlets"><thead><tr>${head.map((h, i) => `<th class="${i ? "num" : ""}">${esc(t(h))}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table>`
    : `<p class="muted">${esc(t("auditor.none"))}</p>`;
  const source = "GET /v1/sessions, /v1/subscriptions, /v1/limit-hits";
  $("source").textContent = t("auditor.source", { source }) + (truncated ? ` (${MAX_SESSIONS} newest checks)` : "");
}

/** The signed inspection report for the period, downloaded with the key (it needs the Authorization header). */
async function downloadReport(format) {
  const note = $("report-note");
  note.className = "field-note";
  note.textContent = t("common.loading");
  const days = Number($("period").value);
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400 * 1000);
  const query = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&format=${format}`;
  let response;
  try {
    response = await fetch(`/v1/reports/inspection?${query}`, { headers: { Authorization: `Bearer ${key()}` } });
  } catch {
    note.textContent = t("common.offline");
    note.classList.add("bad");
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    note.textContent = t("common.error", { detail: body.detail || response.statusText });
    note.classList.add("bad");
    return;
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `inspection-report.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  const signature = response.headers.get("X-PortraitMatch-Signature");
  note.textContent = signature ? t("auditor.report.signed", { key: response.headers.get("X-PortraitMatch-Key-Id") || "" }) : "";
  note.classList.add("good");
}

function drawPeriodOptions() {
  for (const option of $("period").options) option.textContent = t("auditor.days", { n: option.value });
}

async function load() {
  $("figures").innerHTML = '<div class="spinner"></div>';
  try {
    const days = Number($("period").value);
    data = summarise(await fetchAll(days));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      setKey(null);
      return showSignIn(t("console.signin.bad"));
    }
    $("figures").innerHTML = `<p class="notice bad">${esc(t("common.error", { detail: err.detail || String(err) }))}</p>`;
    return;
  }
  draw();
}

async function signIn(token) {
  const me = await api("/v1/console/me", { token });
  if (me.role !== "auditor" && me.role !== "admin") throw new ApiError(403, "ROLE", "");
  setKey(token);
  $("signin").hidden = true;
  $("report").hidden = false;
  $("signout").hidden = false;
  $("who").hidden = false;
  $("who").textContent = t(`role.${me.role}`);
  await load();
}

function main() {
  $("logo").innerHTML = icon("logo");
  $("logo").firstElementChild.setAttribute("width", "28");
  installLangToggle($("lang"));
  drawPeriodOptions();
  document.addEventListener("pm:lang", () => {
    drawPeriodOptions();
    applyI18n(document);
    draw();
  });
  for (const button of document.querySelectorAll("button[data-report]")) {
    button.addEventListener("click", () => downloadReport(button.dataset.report));
  }
  $("period-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn($("signin-key").value.trim());
    } catch (err) {
      showSignIn(t("console.signin.bad"));
    }
  });
  $("signout").addEventListener("click", () => {
    setKey(null);
    location.reload();
  });
  const saved = key();
  if (saved) signIn(saved).catch(() => showSignIn());
  else showSignIn();
}

main();
