// A holder flags a number registered to their ID that is not theirs, with a reason code from the
// service's catalogue (audit/reasons.py, HolderFlagReason): never typed text, which would end up as
// personal data at rest.
import { esc } from "./http.js";
import { t, tCode } from "./i18n.js";

export const FLAG_REASONS = ["not_recognised", "document_lost", "document_stolen", "other"];

export function flagReasonPicker(msisdn) {
  const options = FLAG_REASONS.map((r) => `<option value="${r}">${esc(t(`flag.reason.${r}`))}</option>`).join("");
  return `<select class="small" data-flag-reason="${esc(msisdn)}" aria-label="${esc(t("flag.reason.label"))}">${options}</select>`;
}

// "Reported by holder · ID card lost": what the holder said, for the operator's follow-up.
export function flaggedLabel(label, flag) {
  return flag && flag.reason ? `${label} · ${tCode("flag.reason", flag.reason)}` : label;
}

// The reason picked next to the number's button (the default when the picker is missing).
export function pickedFlagReason(box, msisdn) {
  const select = box.querySelector(`select[data-flag-reason="${CSS.escape(msisdn)}"]`);
  return select ? select.value : FLAG_REASONS[0];
}
