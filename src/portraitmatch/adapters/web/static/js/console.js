// The console shell: sign-in with an API key, one view per task, the supervisor's exception dialog
// and the administrator's setup forms. The key lives in sessionStorage: gone with the tab.

import { CameraError, FrameGrabber, openCamera, stopCamera } from "./camera.js";
import { flaggedLabel } from "./flags.js";
import { api, ApiError, esc } from "./http.js";
import { applyI18n, formatDate, formatTime, installLangToggle, lang, t, tCode } from "./i18n.js";
import { icon } from "./icons.js";
import { problemText, VerificationWizard } from "./wizard.js";

const KEY_STORAGE = "pm.key";
const $ = (id) => document.getElementById(id);

const app = {
  principal: null,
  notice: null,
  wizards: {},
  view: null,
  key() {
    try {
      return sessionStorage.getItem(KEY_STORAGE);
    } catch {
      return app.memoryKey || null;
    }
  },
  setKey(value) {
    app.memoryKey = value;
    try {
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage blocked: the key lives in memory for this page only
    }
  },
  onSignedOut() {
    app.setKey(null);
    app.principal = null;
    showSignIn(t("console.signin.bad"));
  },
  openException(wizard) {
    exceptionDialog.open(wizard);
  },
  refreshReverifications() {
    loadReverifications();
  },
};

// -- sign-in -------------------------------------------------------------------------------------------

function showSignIn(error = "") {
  $("app").hidden = true;
  $("who").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = error;
  $("signin-key").value = "";
  $("signin-key").focus();
}

async function signIn(key) {
  const me = await api("/v1/console/me", { token: key });
  app.setKey(key);
  app.principal = me;
  try {
    app.notice = await api("/v1/privacy-notice");
  } catch {
    app.notice = null;
  }
  if (me.role === "auditor") {
    location.href = "/auditor";
    return;
  }
  showApp();
}

function drawWho() {
  const p = app.principal;
  if (!p) return;
  const role = t(`role.${p.role}`);
  $("who").textContent = p.outlet_id ? t("console.who", { role, outlet: p.outlet_id }) : t("console.who.noutlet", { role });
}

function showApp() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("signout").hidden = false;
  drawWho();
  const role = app.principal.role;
  let first = role === "admin" ? "setup" : null;
  for (const button of $("nav").querySelectorAll("button[data-view]")) {
    const allowed = button.dataset.role.split(" ").includes(role);
    button.hidden = !allowed;
    if (allowed && !first) first = button.dataset.view;
  }
  if (role === "clerk") {
    app.wizards.register ||= new VerificationWizard($("view-register"), "registration", app);
    app.wizards.lookup ||= new VerificationWizard($("view-lookup"), "self_service", app);
    app.wizards.reverify ||= new VerificationWizard($("reverify-wizard"), "reverification", app);
  }
  showView(first);
}

function showView(view) {
  if (view === "auditor") {
    location.href = "/auditor";
    return;
  }
  app.view = view;
  for (const section of document.querySelectorAll("main .view")) section.hidden = section.id !== `view-${view}`;
  for (const button of $("nav").querySelectorAll("button[data-view]")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (view === "sessions") loadSessions();
  if (view === "reverify") loadReverifications();
  if (view === "setup") drawSetup();
}

// -- recent checks ---------------------------------------------------------------------------------------

async function loadSessions() {
  const box = $("sessions-list");
  box.innerHTML = '<div class="spinner"></div>';
  let list;
  try {
    list = await api("/v1/sessions?limit=50", { token: app.key() });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return app.onSignedOut();
    box.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
    return;
  }
  if (!list.sessions.length) {
    box.innerHTML = `<p>${esc(t("sessions.none"))}</p>`;
    return;
  }
  const rows = list.sessions
    .map((s) => {
      const d = s.decision;
      const outcome = d ? `<span class="pill ${esc(d.outcome)}">${esc(t(`decision.${d.outcome}`))}</span>` : "";
      const reasons = d ? d.reasons.map((r) => esc(tCode("reason", r, r))).join("<br>") : "";
      return `<tr><td>${esc(formatTime(s.challenge.issued_at))}</td><td>${esc(t(`wizard.title.${s.purpose}`))}</td>
        <td>${esc(s.outlet_id)}</td><td>${esc(t(`capturestep.state.${s.state}`))}</td><td>${outcome}</td><td>${reasons}</td>
        <td class="num">${d && d.match ? d.match.score.toFixed(3) : ""}</td></tr>`;
    })
    .join("");
  box.innerHTML = `<div style="overflow-x:auto"><table><thead><tr><th></th><th></th><th>${esc(t("auditor.outlet"))}</th><th></th>
    <th>${esc(t("wizard.decision"))}</th><th>${esc(t("decision.reasons"))}</th><th class="num">${esc(t("decision.score"))}</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

// -- re-verification ---------------------------------------------------------------------------------------

async function loadReverifications() {
  const box = $("reverify-list");
  box.innerHTML = '<div class="spinner"></div>';
  let list;
  try {
    list = await api("/v1/subscriptions?reverification=true&limit=200", { token: app.key() });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return app.onSignedOut();
    box.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
    return;
  }
  const pending = list.subscriptions.filter((s) => s.reverification && s.status !== "ended");
  if (!pending.length) {
    box.innerHTML = `<p>${esc(t("reverify.none"))}</p>`;
    return;
  }
  const rows = pending
    .map(
      (s) => `<tr><td class="mono">${esc(s.msisdn)}</td><td><span class="pill ${esc(s.status)}">${esc(tCode("status", s.status, s.status))}</span></td>
      <td>${esc(s.reverification.reason ? tCode("reverify.reason", s.reverification.reason) : "")}</td><td>${esc(t("reverify.deadline", { date: formatDate(s.reverification.deadline) }))}</td>
      <td>${s.holder_flag ? `<span class="pill retry">${esc(flaggedLabel(t("lookup.flagged"), s.holder_flag))}</span>` : ""}</td></tr>`,
    )
    .join("");
  box.innerHTML = `<table><tbody>${rows}</tbody></table>`;
}

// -- exception dialog ------------------------------------------------------------------------------------------

const exceptionDialog = {
  wizard: null,
  photo: null,
  camera: null,

  open(wizard) {
    this.wizard = wizard;
    this.photo = null;
    $("exception-preview").innerHTML = `<span>${esc(t("portrait.none"))}</span>`;
    $("exception-key").value = "";
    $("exception-error").textContent = "";
    $("exception-submit").disabled = false;
    applyI18n($("exception-dialog"));
    $("exception-dialog").showModal();
  },

  close() {
    this.stopCamera();
    $("exception-dialog").close();
  },

  setPhoto(blob) {
    this.photo = blob;
    $("exception-preview").innerHTML = `<img alt="" src="${URL.createObjectURL(blob)}">`;
  },

  async startCamera() {
    try {
      this.camera = await openCamera($("exception-video"));
    } catch (err) {
      const kind = err instanceof CameraError ? err.kind : "busy";
      $("exception-error").textContent = t(`capture.camera.${kind === "other" ? "busy" : kind}.title`);
      return;
    }
    $("exception-video").hidden = false;
    $("exception-snap").hidden = false;
    $("exception-camera").hidden = true;
  },

  async snap() {
    const blob = await new FrameGrabber($("exception-video"), { maxSide: 1280, quality: 0.92 }).grab();
    if (blob) this.setPhoto(blob);
    this.stopCamera();
  },

  stopCamera() {
    stopCamera(this.camera);
    this.camera = null;
    $("exception-video").hidden = true;
    $("exception-snap").hidden = true;
    $("exception-camera").hidden = false;
  },

  async submit() {
    const error = $("exception-error");
    error.textContent = "";
    const key = $("exception-key").value.trim();
    if (!this.photo || !key) {
      error.textContent = t("common.error", { detail: !this.photo ? t("exception.photo") : t("exception.supervisor") });
      return;
    }
    $("exception-submit").disabled = true;
    try {
      // The failed session took its one capture: the exception is decided on a fresh session.
      const session = await this.wizard.newSession();
      const form = new FormData();
      form.append("photo", this.photo, "customer.jpg");
      form.append("kind", $("exception-kind").value);
      form.append("supervisor_key", key);
      const result = await api(`/v1/sessions/${session.id}/exception`, { method: "POST", token: app.key(), form });
      this.close();
      this.wizard.adoptDecision(session, result.decision);
    } catch (err) {
      $("exception-submit").disabled = false;
      if (err instanceof ApiError && err.status === 401) {
        this.close();
        return app.onSignedOut();
      }
      error.textContent = problemText(err);
    }
  },
};

// -- setup (administrators) ------------------------------------------------------------------------------------------

async function drawSetup() {
  const root = $("view-setup");
  let operators = [];
  let outlets = [];
  try {
    [operators, outlets] = await Promise.all([api("/v1/operators", { token: app.key() }), api("/v1/outlets", { token: app.key() })]);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return app.onSignedOut();
    root.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
    return;
  }
  const operatorOptions = operators.map((o) => `<option value="${esc(o.id)}">${esc(o.name)} (${esc(o.id)})</option>`).join("");
  const outletOptions = outlets.map((o) => `<option value="${esc(o.id)}">${esc(o.name)} (${esc(o.id)})</option>`).join("");
  root.innerHTML = `
    <h1>${esc(t("console.nav.setup"))}</h1>
    <p class="muted">${esc(t("setup.lead"))}</p>
    <div class="two-col">
      <form class="card" data-form="operator">
        <h2>${esc(t("setup.operator"))}</h2>
        <label>${esc(t("setup.id"))}<input type="text" name="id" required pattern="[a-z0-9][a-z0-9-]{0,62}"></label>
        <label>${esc(t("setup.name"))}<input type="text" name="name" required></label>
        <div class="field-note" data-out></div>
        <div class="actions"><button type="submit">${esc(t("setup.create"))}</button></div>
      </form>
      <form class="card" data-form="outlet">
        <h2>${esc(t("setup.outlet"))}</h2>
        <label>${esc(t("setup.id"))}<input type="text" name="id" required pattern="[a-z0-9][a-z0-9-]{0,62}"></label>
        <label>${esc(t("setup.operator"))}<select name="operator_id">${operatorOptions}</select></label>
        <label>${esc(t("setup.name"))}<input type="text" name="name" required></label>
        <div class="field-note" data-out></div>
        <div class="actions"><button type="submit">${esc(t("setup.create"))}</button></div>
      </form>
      <form class="card" data-form="key">
        <h2>${esc(t("setup.key"))}</h2>
        <label>${esc(t("setup.role"))}<select name="role"><option value="clerk">${esc(t("role.clerk"))}</option>
          <option value="auditor">${esc(t("role.auditor"))}</option><option value="admin">${esc(t("role.admin"))}</option></select></label>
        <label>${esc(t("setup.outlet"))}<select name="outlet_id"><option value="">—</option>${outletOptions}</select></label>
        <label>${esc(t("setup.label"))}<input type="text" name="label"></label>
        <div class="field-note" data-out></div>
        <div class="actions"><button type="submit">${esc(t("setup.issue"))}</button></div>
      </form>
      <form class="card" data-form="numbers">
        <h2>${esc(t("setup.numbers"))}</h2>
        <label>${esc(t("setup.operator"))}<select name="operator_id">${operatorOptions}</select></label>
        <label>${esc(t("setup.numbers.list"))}<textarea name="numbers" rows="5" class="mono"></textarea></label>
        <div class="field-note" data-out></div>
        <div class="actions"><button type="submit">${esc(t("setup.add"))}</button></div>
      </form>
    </div>`;
  for (const form of root.querySelectorAll("form[data-form]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = form.querySelector("[data-out]");
      const data = Object.fromEntries(new FormData(form).entries());
      out.className = "field-note";
      try {
        let text;
        if (form.dataset.form === "operator") {
          const made = await api("/v1/operators", { method: "POST", token: app.key(), json: { id: data.id, name: data.name } });
          text = t("setup.created", { id: made.id });
        } else if (form.dataset.form === "outlet") {
          const made = await api("/v1/outlets", { method: "POST", token: app.key(), json: data });
          text = t("setup.created", { id: made.id });
        } else if (form.dataset.form === "key") {
          const made = await api("/v1/keys", {
            method: "POST",
            token: app.key(),
            json: { role: data.role, outlet_id: data.outlet_id || null, label: data.label || "" },
          });
          out.innerHTML = `${esc(t("setup.key.shown"))}<div class="link-box mono" data-key>${esc(made.key)}</div>`;
          out.classList.add("good");
          return;
        } else {
          const numbers = data.numbers.split(/[\s,;]+/).filter(Boolean);
          const made = await api(`/v1/operators/${encodeURIComponent(data.operator_id)}/numbers`, { method: "POST", token: app.key(), json: { numbers } });
          text = t("setup.added", { added: made.added, present: made.already_present.length });
        }
        if (form.dataset.form !== "numbers") setTimeout(drawSetup, 1500);
        out.textContent = text;
        out.classList.add("good");
      } catch (err) {
        out.textContent = problemText(err);
        out.classList.add("bad");
      }
    });
  }
}

// -- wiring ------------------------------------------------------------------------------------------

function main() {
  $("logo").innerHTML = icon("logo");
  $("logo").firstElementChild.setAttribute("width", "28");
  installLangToggle($("lang"));
  document.addEventListener("pm:lang", () => {
    drawWho();
    if (app.view === "sessions") loadSessions();
    if (app.view === "reverify") loadReverifications();
    if (app.view === "setup") drawSetup();
  });
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("signin-key").value.trim();
    if (!key) return;
    $("signin-submit").disabled = true;
    try {
      await signIn(key);
    } catch (err) {
      $("signin-error").textContent = err instanceof ApiError && err.status === 401 ? t("console.signin.bad") : problemText(err);
    } finally {
      $("signin-submit").disabled = false;
    }
  });
  $("signout").addEventListener("click", () => {
    app.setKey(null);
    location.reload();
  });
  for (const button of $("nav").querySelectorAll("button[data-view]")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("sessions-refresh").addEventListener("click", loadSessions);
  $("exception-camera").addEventListener("click", () => exceptionDialog.startCamera());
  $("exception-snap").addEventListener("click", () => exceptionDialog.snap());
  $("exception-file").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) exceptionDialog.setPhoto(file);
  });
  $("exception-submit").addEventListener("click", () => exceptionDialog.submit());
  $("exception-key").addEventListener("input", () => {
    $("exception-error").textContent = "";
  });
  $("exception-cancel").addEventListener("click", () => exceptionDialog.close());
  $("exception-dialog").addEventListener("close", () => exceptionDialog.stopCamera());
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";

  const saved = app.key();
  if (saved) {
    signIn(saved).catch(() => showSignIn());
  } else {
    showSignIn();
  }
}

main();
