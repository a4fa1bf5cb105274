// The customer's capture page: notice and consent, camera, one prompt at a time, the result.
// The server decides everything; this page shows the camera, sends frames and reads answers.
//
// Opened as /capture#s=<session id>&t=<capture token>. The token moves to sessionStorage and
// leaves the address bar, so a screenshot or a shoulder does not carry it further.

import { CameraError, FrameClock, FrameGrabber, openCamera, stopCamera } from "./camera.js";
import { flagReasonPicker, pickedFlagReason } from "./flags.js";
import { api, ApiError, esc, wsUrl } from "./http.js";
import { applyI18n, formatDate, formatTime, installLangToggle, lang, NOTICE_VERSION, t, tCode } from "./i18n.js";
import { icon } from "./icons.js";

const FRAME_INTERVAL_MS = 66; // about 15 frames a second when the server keeps up
const MAX_IN_FLIGHT = 3; // frames sent but not yet answered; beyond this the server is behind
const $ = (id) => document.getElementById(id);

const state = {
  sessionId: null,
  token: null,
  session: null,
  notice: null,
  stream: null,
  socket: null,
  steps: 0, // how many actions; which ones the server says one prompt at a time
  step: 0,
  prompt: null,
  guidance: null,
  capturing: false,
  decided: false,
  speak: false,
  lastSpoken: "",
  lastSpokenAt: 0,
  render: null, // re-draws the current screen after a language switch
};

// -- screens -------------------------------------------------------------------------------------

function show(id) {
  for (const el of document.querySelectorAll("main > .screen")) el.hidden = el.id !== id;
}

function message({ iconName, title, body, vars = {}, extra = "", actions = [] }) {
  const draw = () => {
    show("screen-message");
    $("message-icon").innerHTML = icon(iconName);
    $("message-title").textContent = t(title, vars);
    $("message-body").textContent = t(body, vars);
    $("message-extra").innerHTML = typeof extra === "function" ? extra() : extra;
    const box = $("message-actions");
    box.innerHTML = "";
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t(action.label);
      if (action.secondary) button.className = "secondary";
      button.addEventListener("click", action.onClick);
      box.append(button);
    }
    const screen = $("screen-message");
    screen.classList.remove("pass", "fail", "retry");
    if (["pass", "fail", "retry"].includes(iconName)) screen.classList.add(iconName);
    $("message-title").focus?.();
  };
  state.render = draw;
  draw();
}

function problemScreen(err, { fallbackRetry = null } = {}) {
  if (err instanceof ApiError) {
    if (err.status === 410 || err.code === "SESSION_EXPIRED") return expiredScreen();
    if (err.code === "SESSION_CAPTURE_TAKEN" || err.code === "SESSION_DECIDED") return lookUpResult();
    if (err.status === 404 || err.status === 401 || err.code === "UNKNOWN_SESSION") {
      return message({ iconName: "link_off", title: "capture.unknown.title", body: "capture.unknown.body" });
    }
    if (err.code === "CAPTURE_MODE_MISMATCH") return videoOnlyScreen();
    if (err.status === 429) {
      const until = new Date(Date.now() + 1000 * (err.body.retry_after_s || 0)).toISOString();
      return message({ iconName: "lock", title: "capture.locked.title", body: "capture.locked.body", vars: { time: formatTime(until) } });
    }
    if (err.status === 0) {
      return message({
        iconName: "wifi_off",
        title: "capture.lost.title",
        body: "common.offline",
        actions: fallbackRetry ? [{ label: "common.retry", onClick: fallbackRetry }] : [],
      });
    }
  }
  const detail = err instanceof ApiError ? err.detail : String(err);
  return message({
    iconName: "fail",
    title: "capture.result.retry.title",
    body: "common.error",
    vars: { detail },
    actions: fallbackRetry ? [{ label: "common.retry", onClick: fallbackRetry }] : [],
  });
}

function videoOnlyScreen() {
  // A session issued for a recorded upload knows its actions in advance: the live check refuses it.
  message({ iconName: "link_off", title: "capture.videomode.title", body: "capture.videomode.body" });
}

function expiredScreen() {
  message({ iconName: "clock", title: "capture.expired.title", body: "capture.expired.body" });
}

// -- start ---------------------------------------------------------------------------------------

function readLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  let id = params.get("s");
  let token = params.get("t");
  if (id && token) {
    try {
      sessionStorage.setItem(`pm.capture.${id}`, token);
      params.delete("t");
      history.replaceState(null, "", `${location.pathname}#${params.toString()}`);
    } catch {
      // without sessionStorage the token stays in the address bar; the page still works
    }
  } else if (id) {
    try {
      token = sessionStorage.getItem(`pm.capture.${id}`);
    } catch {
      token = null;
    }
  }
  if (!id || !token || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) id = null;
  return { id, token };
}

async function load() {
  show("screen-loading");
  state.render = null;
  try {
    const [session, notice] = await Promise.all([
      api(`/v1/sessions/${state.sessionId}`, { token: state.token }),
      api("/v1/privacy-notice"),
    ]);
    state.session = session;
    state.notice = notice;
  } catch (err) {
    return problemScreen(err, { fallbackRetry: load });
  }
  routeBySession();
}

function routeBySession() {
  const session = state.session;
  if (session.state === "expired") return expiredScreen();
  if (session.state === "decided" || session.state === "used") {
    if (session.decision) return resultScreen(session.decision);
    return message({ iconName: "pass", title: "capture.used.title", body: "capture.used.body" });
  }
  if (session.state === "capturing") {
    return message({ iconName: "retry", title: "capture.used.title", body: "capture.used.body" });
  }
  if (session.challenge.capture === "video") return videoOnlyScreen();
  noticeScreen();
}

// -- notice and consent ----------------------------------------------------------------------------

function noticeKeepHtml() {
  const n = state.notice || {};
  const parts = [];
  if (n.evidence_kept) {
    parts.push(t("capture.notice.keep.frames_kept", { frames: n.evidence_frames, days: n.evidence_days }));
  } else {
    parts.push(t("capture.notice.keep.frames"));
  }
  parts.push(t("capture.notice.keep.template", { minutes: Math.max(1, Math.round((n.challenge_ttl_s || 120) / 60)) }));
  parts.push(t("capture.notice.keep.result", { days: n.days_after_last_cancellation ?? 365 }));
  return parts.map((p) => esc(p)).join(" ");
}

function noticeScreen() {
  const draw = () => {
    show("screen-notice");
    applyI18n($("screen-notice"));
    $("notice-keep").innerHTML = noticeKeepHtml();
  };
  state.render = draw;
  draw();
}

async function agree() {
  $("agree").disabled = true;
  try {
    await api(`/v1/sessions/${state.sessionId}/consent`, {
      method: "POST",
      token: state.token,
      json: { notice_version: state.notice?.version || NOTICE_VERSION, language: lang(), given_by: "customer" },
    });
  } catch (err) {
    $("agree").disabled = false;
    return problemScreen(err, { fallbackRetry: noticeScreen });
  }
  $("agree").disabled = false;
  startCamera();
}

function declined() {
  message({
    iconName: "shield",
    title: "capture.declined.title",
    body: "capture.declined.body",
    actions: [{ label: "capture.declined.back", onClick: noticeScreen, secondary: true }],
  });
}

// -- camera ------------------------------------------------------------------------------------------

async function startCamera() {
  show("screen-loading");
  try {
    state.stream = await openCamera($("video"));
  } catch (err) {
    const kind = err instanceof CameraError ? err.kind : "other";
    const title = { denied: "denied", none: "none", busy: "busy", insecure: "insecure" }[kind] || "busy";
    return message({
      iconName: "camera_off",
      title: `capture.camera.${title}.title`,
      body: `capture.camera.${title}.body`,
      actions: kind === "insecure" ? [] : [{ label: "common.retry", onClick: startCamera }],
    });
  }
  state.steps = state.session.challenge.steps || 0;
  state.step = 0;
  state.prompt = null;
  state.guidance = null;
  state.render = drawCapture;
  show("screen-camera");
  $("ready-card").hidden = false;
  $("start").disabled = false;
  drawCapture();
}

// -- the live check --------------------------------------------------------------------------------

function drawCapture() {
  applyI18n($("screen-camera"));
  const prompt = state.prompt;
  if (prompt) {
    $("prompt-icon").innerHTML = icon(prompt);
    $("prompt-text").textContent = t(`prompt.${prompt}`);
    $("prompt-sub").textContent = prompt === "blink" ? t("prompt.sub.blink") : t("prompt.sub.turn");
  } else {
    $("prompt-icon").innerHTML = icon("face");
    $("prompt-text").textContent = t("prompt.calibrating");
    $("prompt-sub").textContent = t("prompt.calibrating.sub");
  }
  // One dot per step. Only the step under way is named, and only once the server shows its prompt:
  // the page never knows the actions to come (they are withheld so a recording cannot prepare them).
  const steps = $("steps");
  steps.innerHTML = "";
  const total = state.steps;
  for (let i = 0; i < total; i += 1) {
    const li = document.createElement("li");
    if (i < state.step) {
      li.textContent = `✓ ${i + 1}`;
      li.className = "done";
    } else if (i === state.step && state.capturing) {
      li.textContent = state.prompt ? `${i + 1} · ${t(`action.${state.prompt}`)}` : `${i + 1}`;
      li.className = "current";
    } else {
      li.textContent = `${i + 1}`;
    }
    steps.append(li);
  }
  $("step-label").textContent = state.capturing && total ? t("capture.step", { n: Math.min(state.step + 1, total), total }) : "";
  const guide = $("guidance");
  const g = state.guidance;
  const text = g ? tCode("guidance", g.code, g.message) : "";
  guide.hidden = !text;
  guide.textContent = text;
  const attention = g && !["DO_ACTION", "DONE", ""].includes(g.code);
  guide.classList.toggle("attention", Boolean(attention));
  $("stage").classList.toggle("attention", Boolean(attention));
  $("stage").classList.toggle("ok", Boolean(state.capturing && !attention));
  $("speak").setAttribute("aria-pressed", String(state.speak));
  $("speak-icon").innerHTML = icon("speaker");
  $("speak-label").textContent = t(state.speak ? "capture.speak.on" : "capture.speak");
  $("speak-icon").firstElementChild?.setAttribute("width", "20");
}

function say(text, { urgent = false } = {}) {
  if (!state.speak || !text || !("speechSynthesis" in window)) return;
  const now = Date.now();
  if (!urgent && (text === state.lastSpoken || now - state.lastSpokenAt < 3500)) return;
  state.lastSpoken = text;
  state.lastSpokenAt = now;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = lang() === "zh" ? "zh-CN" : "en-US";
  utterance.rate = 0.95;
  speechSynthesis.cancel();
  speechSynthesis.speak(utterance);
}

function startCheck() {
  $("start").disabled = true;
  $("ready-card").hidden = true;
  state.guidance = { code: "", message: t("capture.connecting") };
  drawCapture();
  const nonce = encodeURIComponent(state.session.challenge.nonce);
  const socket = new WebSocket(wsUrl(`/v1/sessions/${state.sessionId}/stream?nonce=${nonce}&mirrored=false`));
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  let ready = false;
  let inFlight = 0;
  let timer = null;
  let lastError = null;
  const grabber = new FrameGrabber($("video"));
  const clock = new FrameClock($("video"));
  clock.start();
  let sentFrame = -1;
  let sentAt = -Infinity;

  const pump = () => {
    if (!state.capturing || socket.readyState !== WebSocket.OPEN) return;
    const isNewFrame = !clock.supported || clock.count !== sentFrame;
    if (inFlight < MAX_IN_FLIGHT && isNewFrame) {
      // The server wants strictly increasing capture times.
      const takenAt = Math.max(clock.supported && clock.time !== null ? clock.time : performance.now(), sentAt + 0.001);
      const jpeg = grabber.grabBytes();
      if (jpeg && state.capturing && socket.readyState === WebSocket.OPEN) {
        const frame = new Uint8Array(12 + jpeg.length);
        frame.set([0x50, 0x4d, 0x46, 0x31]); // "PMF1": a frame that carries its capture time
        new DataView(frame.buffer).setFloat64(4, takenAt, true);
        frame.set(jpeg, 12);
        socket.send(frame);
        inFlight += 1;
        sentFrame = clock.count;
        sentAt = takenAt;
      }
    }
    timer = setTimeout(pump, isNewFrame ? FRAME_INTERVAL_MS : 10);
  };

  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ type: "auth", token: state.token }));
  });
  socket.addEventListener("message", (event) => {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (msg.type === "ready") {
      ready = true;
      state.capturing = true;
      if (typeof msg.steps === "number") state.steps = msg.steps;
      state.guidance = null;
      drawCapture();
      pump();
    } else if (msg.type === "progress") {
      inFlight = Math.max(0, inFlight - 1);
      onProgress(msg);
    } else if (msg.type === "error") {
      inFlight = Math.max(0, inFlight - 1);
      lastError = msg;
    } else if (msg.type === "decision") {
      state.decided = true;
      finishCapture();
      resultScreen(msg);
    }
  });
  socket.addEventListener("close", (event) => {
    clearTimeout(timer);
    clock.stop();
    const wasCapturing = state.capturing;
    state.capturing = false;
    if (state.decided) return;
    stopCamera(state.stream);
    if (!ready && event.code >= 4000 && event.code < 5000) {
      const status = event.code - 4000;
      const err = new ApiError(status, lastError?.code || `HTTP_${status}`, lastError?.message || "");
      return problemScreen(err, { fallbackRetry: load });
    }
    if (wasCapturing || ready) return lostScreen();
    return problemScreen(new ApiError(0, "OFFLINE", ""), { fallbackRetry: load });
  });
}

function onProgress(msg) {
  const prompt = msg.done ? null : msg.prompt || null;
  if (typeof msg.step === "number") state.step = msg.step;
  if (typeof msg.n_steps === "number") state.steps = msg.n_steps;
  if (prompt !== state.prompt) {
    state.prompt = prompt;
    if (prompt) say(t(`prompt.${prompt}`), { urgent: true });
  }
  let guidance = msg.guidance;
  if (typeof guidance === "string") guidance = { code: guidance, message: msg.message || "" };
  if (guidance && !guidance.code && !guidance.message) guidance = null;
  if (guidance && guidance.code === "DO_ACTION") guidance = null; // the prompt card already says it
  state.guidance = guidance;
  if (guidance) say(tCode("guidance", guidance.code, guidance.message));
  $("bar").style.width = `${Math.round(100 * Math.max(0, Math.min(1, msg.fraction || 0)))}%`;
  if (msg.done) {
    state.step = state.steps;
    state.guidance = { code: "", message: t("capture.checking") };
  }
  drawCapture();
}

function finishCapture() {
  state.capturing = false;
  stopCamera(state.stream);
  state.stream = null;
  if ("speechSynthesis" in window) speechSynthesis.cancel();
}

function lostScreen() {
  message({
    iconName: "wifi_off",
    title: "capture.lost.title",
    body: "capture.lost.body",
    actions: [{ label: "capture.lost.lookup", onClick: lookUpResult }],
  });
}

async function lookUpResult() {
  show("screen-loading");
  // The server settles a capture that ended early; give it a moment before asking.
  for (let attempt = 0; attempt < 8; attempt += 1) {
    try {
      const session = await api(`/v1/sessions/${state.sessionId}`, { token: state.token });
      state.session = session;
      if (session.decision) return resultScreen(session.decision);
      if (session.state !== "capturing") return routeBySession();
    } catch (err) {
      return problemScreen(err, { fallbackRetry: lookUpResult });
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return lostScreen();
}

// -- the result -----------------------------------------------------------------------------------

function reasonsHtml(decision) {
  const reasons = (decision.reasons || []).filter((r) => !["MATCH", "CHALLENGE_PASSED"].includes(r));
  if (decision.outcome === "pass" || reasons.length === 0) return "";
  const items = reasons.map((r) => `<li>${esc(tCode("reason", r, r))}</li>`).join("");
  return `<p class="muted">${esc(t("capture.result.why"))}</p><ul>${items}</ul>`;
}

function resultScreen(decision) {
  finishCapture();
  const outcome = ["pass", "fail", "retry"].includes(decision.outcome) ? decision.outcome : "fail";
  message({
    iconName: outcome,
    title: `capture.result.${outcome}.title`,
    body: `capture.result.${outcome}.body`,
    extra: () => reasonsHtml(decision) + '<div id="my-numbers"></div>',
  });
  document.body.dataset.outcome = outcome;
  if (outcome === "pass" && state.session?.purpose === "self_service") showMyNumbers();
}

async function showMyNumbers() {
  let holder;
  try {
    holder = await api(`/v1/sessions/${state.sessionId}/numbers`, { token: state.token });
  } catch (err) {
    return;
  }
  const draw = () => {
    const box = $("my-numbers");
    if (!box) return;
    const rows = holder.numbers
      .map(
        (n) => `<tr><td class="mono">${esc(n.msisdn)}</td><td>${esc(formatDate(n.started_at))}</td>
        <td>${n.holder_flag ? `<span class="pill retry">${esc(t("capture.mynumbers.flagged"))}</span>`
          : `${flagReasonPicker(n.msisdn)} <button type="button" class="secondary small" data-flag="${esc(n.msisdn)}">${esc(t("capture.mynumbers.flag"))}</button>`}</td></tr>`,
      )
      .join("");
    box.innerHTML = `<div class="card" style="text-align:left;margin-top:1rem"><h2>${esc(t("capture.mynumbers.title"))}</h2>
      <p class="muted">${esc(holder.holder_name)} · ${esc(holder.document_number_masked)}</p>
      ${holder.numbers.length ? `<table><tbody>${rows}</tbody></table>` : `<p>${esc(t("capture.mynumbers.empty"))}</p>`}</div>`;
    for (const button of box.querySelectorAll("button[data-flag]")) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const sub = await api(`/v1/sessions/${state.sessionId}/numbers/${button.dataset.flag}/flag`, {
            method: "POST",
            token: state.token,
            json: { reason: pickedFlagReason(box, button.dataset.flag) },
          });
          holder.numbers = holder.numbers.map((n) => (n.msisdn === sub.msisdn ? sub : n));
          draw();
          box.insertAdjacentHTML("beforeend", `<p class="notice info">${esc(t("capture.mynumbers.flag_note"))}</p>`);
        } catch (err) {
          button.disabled = false;
        }
      });
    }
  };
  const outer = state.render;
  state.render = () => {
    outer();
    draw();
  };
  draw();
}

// -- wiring ------------------------------------------------------------------------------------------

function main() {
  $("logo").innerHTML = icon("logo");
  $("logo").firstElementChild.setAttribute("width", "28");
  installLangToggle($("lang"));
  document.addEventListener("pm:lang", () => state.render && state.render());
  $("agree").addEventListener("click", agree);
  $("decline").addEventListener("click", declined);
  $("start").addEventListener("click", startCheck);
  $("speak").addEventListener("click", () => {
    state.speak = !state.speak;
    if (state.speak) say(state.prompt ? t(`prompt.${state.prompt}`) : t("prompt.calibrating"), { urgent: true });
    else if ("speechSynthesis" in window) speechSynthesis.cancel();
    drawCapture();
  });
  window.addEventListener("pagehide", () => {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.close(1001);
    stopCamera(state.stream);
  });
  const link = readLink();
  if (!link.id) {
    return message({ iconName: "link_off", title: "capture.badlink.title", body: "capture.badlink.body" });
  }
  state.sessionId = link.id;
  state.token = link.token;
  load();
}

main();
