// The clerk's verification wizard: document and ID portrait, consent, the live check on the kiosk or
// the customer's phone, then the decision and what it allows (register a number, list the numbers
// under the ID, confirm a re-verification). One wizard per purpose; the console owns the sign-in.

import { CameraError, FrameGrabber, openCamera, stopCamera } from "./camera.js";
import { checkDocumentForm, todayIso } from "./documents.js";
import { flaggedLabel, flagReasonPicker, pickedFlagReason } from "./flags.js";
import { api, ApiError, esc } from "./http.js";
import { applyI18n, formatDate, formatTime, lang, NOTICE_VERSION, t, tCode } from "./i18n.js";

const POLL_MS = 1200;
const STEPS = ["document", "consent", "capture", "decision"];
const STEP_LABELS = { document: "wizard.document", consent: "wizard.consent", capture: "wizard.capture", decision: "wizard.decision" };

/** A translated problem: the page's own words for codes it knows, else the server's detail. */
export function problemText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t("common.offline");
    for (const prefix of ["problem", "doc.err"]) {
      const own = tCode(prefix, err.code, "");
      if (own !== err.code && !own.includes("{")) return own;
    }
    return t("common.error", { detail: err.detail || err.code });
  }
  return t("common.error", { detail: String(err && err.message ? err.message : err) });
}

function docProblemText(problem) {
  const vars = { ...problem.vars };
  if (vars.what) vars.what = t(`doc.what.${vars.what}`);
  return t(`doc.err.${problem.code}`, vars);
}

/** What the clerk is told of the challenge: for a live (stream) session only how many steps, since
 *  the server shows the customer one prompt at a time and lists the actions to no one in advance. */
function challengeText(challenge) {
  if (Array.isArray(challenge.actions) && challenge.actions.length) {
    return challenge.actions.map((a) => t(`action.${a}`)).join(" → ");
  }
  return t("capturestep.steps", { n: challenge.steps });
}

export class VerificationWizard {
  /**
   * @param root element to render into
   * @param purpose "registration" | "self_service" | "reverification"
   * @param console {key(), principal(), onSignedOut(), openException(wizard)}
   */
  constructor(root, purpose, consoleApp) {
    this.root = root;
    this.purpose = purpose;
    this.app = consoleApp;
    this.id = `w-${purpose}`;
    this.step = "document";
    this.portrait = null; // {blob, url}
    this.session = null; // SessionCreatedOut or SessionOut
    this.captureToken = null;
    this.link = null;
    this.pollTimer = null;
    this.camera = null;
    this.document = null; // the checked document {type, number, issuingState}
    this.registered = null;
    this.render();
  }

  // -- skeleton -------------------------------------------------------------------------------------

  el(name) {
    return this.root.querySelector(`[data-el="${name}"]`);
  }

  render() {
    const id = this.id;
    this.root.innerHTML = `
      <h1 data-i18n="wizard.title.${this.purpose}"></h1>
      <p class="muted" data-i18n="wizard.lead.${this.purpose}"></p>
      <ol class="wizard-steps" data-el="steps">${STEPS.map((s) => `<li data-step="${s}" data-i18n="${STEP_LABELS[s]}"></li>`).join("")}</ol>

      <div data-step-panel="document">
        <div class="two-col">
          <div class="card">
            <h2 data-i18n="wizard.document"></h2>
            <label for="${id}-type" data-i18n="doc.type"></label>
            <select id="${id}-type" data-el="type">
              <option value="resident_id" data-i18n="doc.type.resident_id"></option>
              <option value="passport" data-i18n="doc.type.passport"></option>
            </select>
            <div data-el="resident">
              <label for="${id}-number" data-i18n="doc.number"></label>
              <input type="text" id="${id}-number" data-el="number" autocomplete="off" spellcheck="false" maxlength="24" data-i18n-placeholder="doc.number.hint">
              <div class="field-note" data-el="note-number" aria-live="polite"></div>
              <div class="row">
                <div>
                  <label for="${id}-expires" data-i18n="doc.expires"></label>
                  <input type="date" id="${id}-expires" data-el="expires">
                </div>
                <div style="display:flex;align-items:flex-end">
                  <label class="inline"><input type="checkbox" data-el="longterm"><span data-i18n="doc.long_term"></span></label>
                </div>
              </div>
              <div class="field-note" data-el="note-expiry" aria-live="polite"></div>
            </div>
            <div data-el="passport" hidden>
              <label for="${id}-mrz" data-i18n="doc.mrz"></label>
              <textarea id="${id}-mrz" class="mrz" rows="2" data-el="mrz" spellcheck="false" autocapitalize="characters" maxlength="100"></textarea>
              <div class="field-note muted" data-i18n="doc.mrz.hint"></div>
              <div class="field-note" data-el="note-mrz" aria-live="polite"></div>
            </div>
            <label for="${id}-name" data-i18n="doc.name"></label>
            <input type="text" id="${id}-name" data-el="name" autocomplete="off" maxlength="64">
            <div class="field-note" data-el="note-name" aria-live="polite"></div>
          </div>
          <div class="card">
            <h2 data-i18n="wizard.portrait"></h2>
            <p class="muted" data-i18n="portrait.lead"></p>
            <div class="portrait-box">
              <div class="portrait-preview" data-el="portrait-preview"><span data-i18n="portrait.none"></span></div>
              <div class="snap">
                <video data-el="portrait-video" autoplay muted playsinline hidden></video>
                <div class="actions" style="margin-top:0.4rem">
                  <label class="button secondary small" for="${id}-file" style="margin:0" data-i18n="portrait.upload"></label>
                  <input type="file" id="${id}-file" data-el="portrait-file" accept="image/*" hidden>
                  <button type="button" class="secondary small" data-el="portrait-camera" data-i18n="portrait.camera"></button>
                  <button type="button" class="small" data-el="portrait-snap" hidden data-i18n="portrait.snap"></button>
                </div>
                <div class="field-note bad" data-el="portrait-error" role="alert"></div>
              </div>
            </div>
          </div>
        </div>
        <div class="actions"><button type="button" data-el="to-consent" disabled data-i18n="common.next"></button></div>
      </div>

      <div data-step-panel="consent" hidden>
        <div class="card">
          <h2 data-i18n="wizard.consent"></h2>
          <p data-i18n="consent.lead"></p>
          <div class="notice info" data-el="notice"></div>
          <label class="inline"><input type="checkbox" data-el="consent"><span data-i18n="consent.check"></span></label>
          <fieldset style="border:none;padding:0;margin:1rem 0 0">
            <legend style="font-weight:600" data-i18n="consent.device"></legend>
            <label class="inline"><input type="radio" name="${id}-device" value="kiosk" checked data-el="device-kiosk"><span data-i18n="consent.device.kiosk"></span></label>
            <label class="inline"><input type="radio" name="${id}-device" value="phone" data-el="device-phone"><span data-i18n="consent.device.phone"></span></label>
          </fieldset>
          <div class="field-note bad" data-el="consent-error" role="alert"></div>
          <div class="actions">
            <button type="button" data-el="start" disabled data-i18n="consent.start"></button>
            <button type="button" class="secondary" data-el="back-document" data-i18n="common.back"></button>
          </div>
        </div>
      </div>

      <div data-step-panel="capture" hidden>
        <div class="card">
          <h2 data-i18n="wizard.capture"></h2>
          <p data-el="capture-lead"></p>
          <div class="qr-box">
            <div class="qr" data-el="qr" hidden></div>
            <div style="flex:1;min-width:240px">
              <p><b data-i18n="capturestep.challenge"></b> <span data-el="challenge"></span></p>
              <div class="status-line"><span class="dot live" data-el="dot"></span><span data-el="status" aria-live="polite"></span></div>
              <p class="muted" data-el="expires-at"></p>
              <div class="actions">
                <button type="button" data-el="open-capture" data-i18n="capturestep.open"></button>
                <button type="button" class="secondary" data-el="copy-link" data-i18n="capturestep.copy"></button>
              </div>
              <p class="link-box mono" data-el="link" hidden></p>
            </div>
          </div>
          <div class="field-note bad" data-el="capture-error" role="alert"></div>
          <div class="actions"><button type="button" class="secondary" data-el="abandon" data-i18n="capturestep.abandon"></button></div>
        </div>
      </div>

      <div data-step-panel="decision" hidden>
        <div class="card" data-el="decision-card">
          <h2><span data-i18n="wizard.decision"></span> <span class="pill" data-el="outcome"></span></h2>
          <dl class="kv" data-el="decision-kv"></dl>
          <div data-el="decision-actions" class="actions"></div>
        </div>
        <div class="card" data-el="next"></div>
        <div class="actions"><button type="button" class="secondary" data-el="restart" data-i18n="capturestep.abandon"></button></div>
      </div>`;
    applyI18n(this.root);
    this.wire();
    this.show("document");
  }

  wire() {
    const check = () => this.checkDocument();
    for (const name of ["type", "number", "expires", "longterm", "mrz", "name"]) {
      this.el(name).addEventListener("input", check);
      this.el(name).addEventListener("change", check);
    }
    this.el("portrait-file").addEventListener("change", (e) => {
      const file = e.target.files && e.target.files[0];
      if (file) this.setPortrait(file);
    });
    this.el("portrait-camera").addEventListener("click", () => this.startPortraitCamera());
    this.el("portrait-snap").addEventListener("click", () => this.snapPortrait());
    this.el("to-consent").addEventListener("click", () => {
      this.stopPortraitCamera();
      this.show("consent");
    });
    this.el("consent").addEventListener("change", () => {
      this.el("start").disabled = !this.el("consent").checked;
    });
    this.el("back-document").addEventListener("click", () => this.show("document"));
    this.el("start").addEventListener("click", () => this.startCheck());
    this.el("open-capture").addEventListener("click", () => this.openCaptureWindow());
    this.el("copy-link").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(this.link);
        this.el("copy-link").textContent = t("capturestep.copied");
      } catch {
        this.el("link").hidden = false;
      }
    });
    this.el("abandon").addEventListener("click", () => this.reset());
    this.el("restart").addEventListener("click", () => this.reset());
    document.addEventListener("pm:lang", () => this.refresh());
  }

  show(step) {
    this.step = step;
    for (const panel of this.root.querySelectorAll("[data-step-panel]")) panel.hidden = panel.dataset.stepPanel !== step;
    const at = STEPS.indexOf(step);
    for (const li of this.el("steps").children) {
      const i = STEPS.indexOf(li.dataset.step);
      li.className = i < at ? "done" : i === at ? "current" : "";
    }
    if (step === "consent") this.drawNotice();
    this.root.dataset.step = step;
  }

  refresh() {
    this.checkDocument();
    if (this.step === "consent") this.drawNotice();
    if (this.step === "capture") this.drawCapture();
    if (this.step === "decision") this.drawDecision();
  }

  reset() {
    this.stopPolling();
    this.stopPortraitCamera();
    this.session = null;
    this.captureToken = null;
    this.link = null;
    this.registered = null;
    this.el("restart").textContent = t("capturestep.abandon");
    this.el("consent").checked = false;
    this.el("start").disabled = true;
    this.show("document");
  }

  // -- step 1: document and portrait ---------------------------------------------------------------

  formValues() {
    return {
      type: this.el("type").value,
      number: this.el("number").value,
      expiresOn: this.el("expires").value,
      longTerm: this.el("longterm").checked,
      mrz: this.el("mrz").value,
      name: this.el("name").value,
    };
  }

  checkDocument() {
    const form = this.formValues();
    const isPassport = form.type === "passport";
    this.el("resident").hidden = isPassport;
    this.el("passport").hidden = !isPassport;
    this.el("expires").disabled = form.longTerm;
    const result = checkDocumentForm(form, todayIso());
    const note = (name, field, problem, okText) => {
      const box = this.el(name);
      const input = field ? this.el(field) : null;
      const typed = input ? input.value.trim() !== "" : true;
      box.className = "field-note";
      input?.classList.remove("invalid", "valid");
      if (problem && typed) {
        box.textContent = docProblemText(problem);
        box.classList.add("bad");
        input?.classList.add("invalid");
      } else if (!problem && okText && typed) {
        box.textContent = okText;
        box.classList.add("good");
        input?.classList.add("valid");
      } else {
        box.textContent = "";
      }
    };
    if (!isPassport) {
      const parsed = result.document?.parsed;
      note("note-number", "number", result.problems.number, parsed ? t("doc.ok.resident", { birth: parsed.birthDate, sex: t(parsed.isMale ? "doc.sex.m" : "doc.sex.f") }) : "");
      const expiryTyped = form.expiresOn !== "" || form.longTerm;
      const box = this.el("note-expiry");
      box.className = "field-note";
      box.textContent = "";
      if (result.problems.expiry && (expiryTyped || result.problems.expiry.code !== "expiry_required")) {
        box.textContent = docProblemText(result.problems.expiry);
        box.classList.add("bad");
      }
    } else {
      const zone = result.document?.parsed;
      note("note-mrz", "mrz", result.problems.mrz, zone ? t("doc.ok.mrz", { name: zone.name, number: zone.number, state: zone.issuingState, expires: zone.expiresOn }) : "");
    }
    note("note-name", "name", result.problems.name, "");
    this.document = result.ok ? result.document : null;
    this.holderName = result.name;
    this.el("to-consent").disabled = !(result.ok && this.portrait);
    return result;
  }

  setPortrait(blob) {
    if (this.portrait) URL.revokeObjectURL(this.portrait.url);
    this.portrait = { blob, url: URL.createObjectURL(blob) };
    this.el("portrait-preview").innerHTML = `<img alt="" src="${this.portrait.url}">`;
    this.el("portrait-error").textContent = "";
    this.checkDocument();
  }

  async startPortraitCamera() {
    const video = this.el("portrait-video");
    try {
      this.camera = await openCamera(video);
    } catch (err) {
      const kind = err instanceof CameraError ? err.kind : "busy";
      this.el("portrait-error").textContent = t(`capture.camera.${kind === "other" ? "busy" : kind}.title`);
      return;
    }
    video.hidden = false;
    this.el("portrait-snap").hidden = false;
    this.el("portrait-camera").hidden = true;
  }

  async snapPortrait() {
    const blob = await new FrameGrabber(this.el("portrait-video"), { maxSide: 1280, quality: 0.92 }).grab();
    if (blob) this.setPortrait(blob);
    this.stopPortraitCamera();
  }

  stopPortraitCamera() {
    stopCamera(this.camera);
    this.camera = null;
    this.el("portrait-video").hidden = true;
    this.el("portrait-snap").hidden = true;
    this.el("portrait-camera").hidden = false;
  }

  // -- step 2: consent, then the session --------------------------------------------------------------

  drawNotice() {
    const n = this.app.notice || {};
    const keep = [
      n.evidence_kept ? t("capture.notice.keep.frames_kept", { frames: n.evidence_frames, days: n.evidence_days }) : t("capture.notice.keep.frames"),
      t("capture.notice.keep.template", { minutes: Math.max(1, Math.round((n.challenge_ttl_s || 120) / 60)) }),
      t("capture.notice.keep.result", { days: n.days_after_last_cancellation ?? 365 }),
    ].join(" ");
    this.el("notice").innerHTML = `
      <p><b>${esc(t("capture.notice.what"))}.</b> ${esc(t("capture.notice.what.body"))}</p>
      <p><b>${esc(t("capture.notice.why"))}.</b> ${esc(t("capture.notice.why.body"))}</p>
      <p><b>${esc(t("capture.notice.keep"))}.</b> ${esc(keep)}</p>
      <p style="margin:0">${esc(t("capture.notice.only_you"))} ${esc(t("capture.notice.refuse"))}</p>`;
  }

  sessionForm() {
    const form = new FormData();
    const values = this.formValues();
    form.append("portrait", this.portrait.blob, "portrait.jpg");
    form.append("purpose", this.purpose);
    form.append("channel", "counter");
    form.append("capture", "stream"); // the live capture page: its actions are never listed in advance
    form.append("document_type", values.type);
    form.append("holder_name", this.holderName || values.name);
    if (values.type === "resident_id") {
      form.append("document_number", this.document.number);
      if (values.longTerm) form.append("document_long_term", "true");
      else form.append("document_expires_on", values.expiresOn);
    } else {
      form.append("mrz", values.mrz.replace(/\s+/g, ""));
    }
    form.append("device_id", this.el("device-phone").checked ? "customer-phone" : "counter-kiosk");
    return form;
  }

  /** Create a session for the checked document and record the clerk's attestation of consent. */
  async newSession() {
    const session = await api("/v1/sessions", { method: "POST", token: this.app.key(), form: this.sessionForm() });
    await api(`/v1/sessions/${session.id}/consent`, {
      method: "POST",
      token: this.app.key(),
      json: { notice_version: this.app.notice?.version || NOTICE_VERSION, language: lang(), given_by: "clerk" },
    });
    this.session = session;
    this.captureToken = session.capture_token;
    this.link = `${location.origin}/capture#s=${encodeURIComponent(session.id)}&t=${encodeURIComponent(session.capture_token)}&lang=${lang()}`;
    this.portraitNotes = session.portrait_notes || [];
    return session;
  }

  async startCheck() {
    const button = this.el("start");
    button.disabled = true;
    this.el("consent-error").textContent = "";
    try {
      await this.newSession();
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 401) return this.app.onSignedOut();
      this.el("consent-error").textContent = problemText(err);
      return;
    }
    button.disabled = false;
    this.enterCapture();
  }

  // -- step 3: the live check ----------------------------------------------------------------------------

  enterCapture() {
    this.show("capture");
    this.el("copy-link").textContent = t("capturestep.copy");
    this.el("link").textContent = this.link;
    this.el("link").hidden = true;
    this.el("capture-error").textContent = "";
    const phone = this.el("device-phone").checked;
    this.el("qr").hidden = !phone;
    this.el("qr").innerHTML = "";
    if (phone) this.drawQr();
    this.drawCapture();
    this.poll();
  }

  async drawQr() {
    try {
      const svg = await api("/v1/console/qr", { method: "POST", token: this.app.key(), json: { text: this.link } });
      // The SVG is generated by our own server from our own link; it carries no script.
      this.el("qr").innerHTML = typeof svg === "string" ? svg : "";
    } catch (err) {
      this.el("capture-error").textContent = problemText(err);
    }
  }

  drawCapture() {
    if (!this.session) return;
    const phone = this.el("device-phone").checked;
    this.el("capture-lead").textContent = t(phone ? "capturestep.lead.phone" : "capturestep.lead.kiosk");
    this.el("challenge").textContent = challengeText(this.session.challenge);
    const state = this.session.state;
    this.el("status").textContent = t(`capturestep.state.${state}`);
    this.el("dot").className = `dot${state === "issued" || state === "capturing" ? " live" : ""}`;
    this.el("expires-at").textContent = t("capturestep.expires", { time: formatTime(this.session.challenge.expires_at) });
    this.root.dataset.sessionState = state;
  }

  openCaptureWindow() {
    // A kiosk is a second screen facing the customer: the capture page opens in its own window,
    // without an opener, so it does not inherit this tab's sessionStorage (the clerk's key).
    window.open(this.link, "_blank", "noopener,popup=yes,width=900,height=900");
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  poll() {
    this.stopPolling();
    const tick = async () => {
      if (this.step !== "capture" || !this.session) return;
      try {
        const session = await api(`/v1/sessions/${this.session.id}`, { token: this.app.key() });
        this.session = { ...this.session, ...session };
        this.drawCapture();
        if (session.decision) return this.enterDecision();
        if (session.state === "expired") return;
        this.el("capture-error").textContent = "";
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return this.app.onSignedOut();
        this.el("capture-error").textContent = problemText(err);
      }
      this.pollTimer = setTimeout(tick, POLL_MS);
    };
    this.pollTimer = setTimeout(tick, POLL_MS);
  }

  // -- step 4: the decision and what it allows -------------------------------------------------------------

  enterDecision() {
    this.stopPolling();
    this.show("decision");
    this.drawDecision();
    this.drawNext();
  }

  drawDecision() {
    const d = this.session.decision;
    if (!d) return;
    const outcome = this.el("outcome");
    outcome.textContent = t(`decision.${d.outcome}`);
    outcome.className = `pill ${d.outcome}`;
    this.root.dataset.outcome = d.outcome;
    const reasons = (d.reasons || []).map((r) => `<div>${esc(tCode("reason", r, r))} <small class="mono">${esc(r)}</small></div>`).join("");
    let rows = `<dt>${esc(t("decision.reasons"))}</dt><dd>${reasons || esc(t("common.none"))}</dd>`;
    if (d.match) {
      rows += `<dt>${esc(t("decision.score"))}</dt><dd>${d.match.score.toFixed(3)} <small>(${esc(t("decision.threshold", { t: d.match.threshold.toFixed(3) }))})</small></dd>`;
    }
    if (d.liveness_passed !== null && d.liveness_passed !== undefined) {
      rows += `<dt>${esc(t("decision.liveness"))}</dt><dd>${esc(t(d.liveness_passed ? "decision.pass" : "decision.fail"))}</dd>`;
    }
    if (d.usable_until) rows += `<dt>${esc(t("decision.usable_until"))}</dt><dd>${esc(formatTime(d.usable_until))}</dd>`;
    if (this.portraitNotes && this.portraitNotes.length) {
      rows += `<dt>${esc(t("portrait.notes"))}</dt><dd>${this.portraitNotes.map(esc).join("<br>")}</dd>`;
    }
    this.el("decision-kv").innerHTML = rows;
    const actions = this.el("decision-actions");
    actions.innerHTML = "";
    if (d.outcome !== "pass") {
      const retry = document.createElement("button");
      retry.type = "button";
      retry.dataset.el = "retry";
      retry.textContent = t("decision.retry_button");
      retry.addEventListener("click", () => this.retry());
      actions.append(retry);
      const exception = document.createElement("button");
      exception.type = "button";
      exception.className = "secondary";
      exception.dataset.el = "exception";
      exception.textContent = t("decision.exception_button");
      exception.addEventListener("click", () => this.app.openException(this));
      actions.append(exception);
    }
  }

  /** A new attempt: a new session for the same document and portrait (each session takes one capture). */
  async retry() {
    try {
      await this.newSession();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.app.onSignedOut();
      this.el("next").innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
      this.el("next").hidden = false;
      return;
    }
    this.enterCapture();
  }

  /** After an exception was decided on a fresh session, show it as this wizard's decision. */
  adoptDecision(session, decision) {
    this.session = { ...session, decision };
    this.enterDecision();
  }

  documentRef() {
    return { document_type: this.document.type, document_number: this.document.number, issuing_state: this.document.issuingState || "CHN" };
  }

  drawNext() {
    const box = this.el("next");
    box.hidden = true;
    box.innerHTML = "";
    if (this.session.decision.outcome !== "pass") return;
    box.hidden = false;
    if (this.purpose === "registration") return this.drawNumberPicker(box);
    if (this.purpose === "self_service") return this.drawHolderNumbers(box);
    return this.drawReverification(box);
  }

  async drawNumberPicker(box) {
    this.el("restart").textContent = t(this.registered ? "register.more" : "capturestep.abandon");
    if (this.registered) {
      box.innerHTML = `<p class="notice good" data-el="registered">${esc(t("register.done", { msisdn: this.registered.msisdn, name: this.holderName }))}</p>`;
      return;
    }
    box.innerHTML = `<h2>${esc(t("register.pick"))}</h2><div class="spinner"></div>`;
    let numbers;
    try {
      numbers = (await api("/v1/numbers?state=available&limit=24", { token: this.app.key() })).numbers;
    } catch (err) {
      box.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
      return;
    }
    if (!numbers.length) {
      box.innerHTML = `<h2>${esc(t("register.pick"))}</h2><p class="notice warn">${esc(t("register.none"))}</p>`;
      return;
    }
    const name = `${this.id}-msisdn`;
    box.innerHTML = `<h2>${esc(t("register.pick"))}</h2>
      <div class="number-grid" data-el="numbers">${numbers
        .map((n, i) => `<label><input type="radio" name="${name}" value="${esc(n.msisdn)}" ${i === 0 ? "checked" : ""}>${esc(n.msisdn)}</label>`)
        .join("")}</div>
      <div class="field-note bad" data-el="register-error" role="alert"></div>
      <div class="actions"><button type="button" data-el="register"></button></div>`;
    const button = box.querySelector('[data-el="register"]');
    const label = () => {
      const chosen = box.querySelector(`input[name="${name}"]:checked`);
      button.textContent = t("register.submit", { msisdn: chosen ? chosen.value : "" });
    };
    label();
    box.querySelector('[data-el="numbers"]').addEventListener("change", label);
    button.addEventListener("click", async () => {
      const chosen = box.querySelector(`input[name="${name}"]:checked`);
      if (!chosen) return;
      button.disabled = true;
      try {
        this.registered = await api(`/v1/numbers/${chosen.value}/registration`, {
          method: "POST",
          token: this.app.key(),
          json: { session_id: this.session.id, ...this.documentRef() },
        });
      } catch (err) {
        button.disabled = false;
        box.querySelector('[data-el="register-error"]').textContent = problemText(err);
        return;
      }
      this.drawNumberPicker(box);
    });
  }

  async drawHolderNumbers(box) {
    box.innerHTML = '<div class="spinner"></div>';
    let holder;
    try {
      holder = await api(`/v1/sessions/${this.session.id}/numbers`, { token: this.app.key() });
    } catch (err) {
      box.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
      return;
    }
    const draw = () => {
      const rows = holder.numbers
        .map(
          (n) => `<tr><td class="mono">${esc(n.msisdn)}</td><td>${esc(n.operator_id)}</td><td><span class="pill ${esc(n.status)}">${esc(tCode("status", n.status, n.status))}</span></td>
          <td>${esc(t("lookup.started", { date: formatDate(n.started_at) }))}</td>
          <td>${n.holder_flag ? `<span class="pill retry">${esc(flaggedLabel(t("lookup.flagged"), n.holder_flag))}</span>` : `${flagReasonPicker(n.msisdn)} <button type="button" class="secondary small" data-flag="${esc(n.msisdn)}">${esc(t("lookup.flag"))}</button>`}</td></tr>`,
        )
        .join("");
      box.innerHTML = `<h2>${esc(t("lookup.holder", { name: holder.holder_name, doc: holder.document_number_masked }))}</h2>
        ${holder.numbers.length ? `<table data-el="holder-numbers"><tbody>${rows}</tbody></table>` : `<p data-el="holder-numbers">${esc(t("lookup.empty"))}</p>`}`;
      for (const button of box.querySelectorAll("button[data-flag]")) {
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            const sub = await api(`/v1/sessions/${this.session.id}/numbers/${button.dataset.flag}/flag`, {
              method: "POST",
              token: this.app.key(),
              json: { reason: pickedFlagReason(box, button.dataset.flag) },
            });
            holder.numbers = holder.numbers.map((n) => (n.msisdn === sub.msisdn ? sub : n));
            draw();
          } catch (err) {
            button.disabled = false;
            box.insertAdjacentHTML("beforeend", `<p class="notice bad">${esc(problemText(err))}</p>`);
          }
        });
      }
    };
    draw();
  }

  drawReverification(box) {
    box.innerHTML = `<div class="actions" style="margin-top:0"><button type="button" data-el="confirm-reverify">${esc(t("reverify.confirm"))}</button></div><div data-el="reverify-result"></div>`;
    const button = box.querySelector('[data-el="confirm-reverify"]');
    button.addEventListener("click", async () => {
      button.disabled = true;
      const out = box.querySelector('[data-el="reverify-result"]');
      try {
        const result = await api("/v1/reverifications", {
          method: "POST",
          token: this.app.key(),
          json: { session_id: this.session.id, ...this.documentRef() },
        });
        const list = result.reverified.map((s) => s.msisdn).join(", ");
        out.innerHTML = `<p class="notice good">${esc(list ? t("reverify.done", { list }) : t("reverify.nothing"))}</p>`;
        this.app.refreshReverifications?.();
      } catch (err) {
        button.disabled = false;
        out.innerHTML = `<p class="notice bad">${esc(problemText(err))}</p>`;
      }
    });
  }
}
