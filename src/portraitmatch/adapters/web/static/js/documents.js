// ID document checks as the clerk types, mirroring registry/resident_id.py and registry/mrz.py.
// The server checks again and has the last word; these give the clerk an answer per keystroke.
// Every result is {ok: true, ...fields} or {ok: false, code, vars}, with the server's codes.

// GB 11643-1999: weights 2^(17-i) mod 11 (ISO 7064 MOD 11-2), check characters by sum mod 11.
const WEIGHTS = Array.from({ length: 17 }, (_, i) => modPow(2, 17 - i, 11));
const CHECK_CHARS = "10X98765432";
const PROVINCE_CODES = new Set([
  11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
  50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
]);
const EARLIEST_BIRTH = "1900-01-01";
const LONG_TERM_MIN_AGE_YEARS = 46;

function modPow(base, exp, mod) {
  let result = 1;
  for (let i = 0; i < exp; i += 1) result = (result * base) % mod;
  return result;
}

function isoDate(y, m, d) {
  // A real calendar date or null (Date rolls 2 30 over to 3 2; compare the parts back).
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

export function todayIso(now = new Date()) {
  return isoDate(now.getFullYear(), now.getMonth() + 1, now.getDate());
}

export function checkCharacter(first17) {
  let total = 0;
  for (let i = 0; i < 17; i += 1) total += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[total % 11];
}

/** Validate a resident identity number (parse_resident_id). `today` is "YYYY-MM-DD". */
export function parseResidentId(text, today = todayIso()) {
  const number = String(text).trim().replaceAll(" ", "").toUpperCase();
  if (number.length !== 18) return { ok: false, code: "ID_NUMBER_LENGTH", vars: { n: number.length } };
  if (!/^[0-9]{17}[0-9X]$/.test(number)) return { ok: false, code: "ID_NUMBER_CHARACTERS", vars: {} };
  if (!PROVINCE_CODES.has(Number(number.slice(0, 2)))) {
    return { ok: false, code: "ID_NUMBER_REGION", vars: { code: number.slice(0, 2) } };
  }
  const birth = isoDate(Number(number.slice(6, 10)), Number(number.slice(10, 12)), Number(number.slice(12, 14)));
  if (birth === null || birth < EARLIEST_BIRTH || birth > today) {
    return { ok: false, code: "ID_NUMBER_BIRTH_DATE", vars: {} };
  }
  if (number[17] !== checkCharacter(number.slice(0, 17))) {
    return { ok: false, code: "ID_NUMBER_CHECKSUM", vars: {} };
  }
  return { ok: true, number, regionCode: number.slice(0, 6), birthDate: birth, isMale: Number(number[16]) % 2 === 1 };
}

// ICAO Doc 9303 TD3 (passports): check digits weight 7, 3, 1; '<' counts 0, A-Z 10-35.
const MRZ_LINE = /^[A-Z0-9<]{44}$/;

function mrzValue(ch) {
  if (ch >= "0" && ch <= "9") return Number(ch);
  if (ch === "<") return 0;
  return ch.charCodeAt(0) - 55;
}

export function mrzCheckDigit(field) {
  let total = 0;
  for (let i = 0; i < field.length; i += 1) total += mrzValue(field[i]) * [7, 3, 1][i % 3];
  return String(total % 10);
}

function yymmdd(text) {
  return /^[0-9]{6}$/.test(text) ? [Number(text.slice(0, 2)), Number(text.slice(2, 4)), Number(text.slice(4, 6))] : null;
}

/** Parse and verify a passport MRZ (parse_td3): both lines, separated by whitespace or not. */
export function parseTd3(text, today = todayIso()) {
  const compact = String(text).replace(/\s+/g, "").toUpperCase();
  if (compact.length !== 88) return { ok: false, code: "MRZ_FORMAT", vars: { n: compact.length } };
  const line1 = compact.slice(0, 44);
  const line2 = compact.slice(44);
  if (!MRZ_LINE.test(line1) || !MRZ_LINE.test(line2) || line1[0] !== "P") return { ok: false, code: "MRZ_FORMAT", vars: {} };

  const checks = [
    [line2.slice(0, 9), line2[9], "number"],
    [line2.slice(13, 19), line2[19], "birth"],
    [line2.slice(21, 27), line2[27], "expiry"],
  ];
  const optional = line2.slice(28, 42);
  // An empty optional field may carry '<' as its check digit (Doc 9303 part 4, 4.2.2.2).
  if (!(/^<+$/.test(optional) && line2[42] === "<")) checks.push([optional, line2[42], "personal"]);
  checks.push([line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43), line2[43], "composite"]);
  for (const [field, digit, what] of checks) {
    if (digit !== mrzCheckDigit(field)) return { ok: false, code: "MRZ_CHECK_DIGIT", vars: { what } };
  }
  const number = line2.slice(0, 9).replaceAll("<", "");
  if (!number) return { ok: false, code: "MRZ_FORMAT", vars: {} };
  const sex = line2[20];
  if (!"MFX<".includes(sex)) return { ok: false, code: "MRZ_FORMAT", vars: {} };

  const todayYear = Number(today.slice(0, 4));
  const b = yymmdd(line2.slice(13, 19));
  if (b === null) return { ok: false, code: "MRZ_DATE", vars: { what: "birth" } };
  // A birth date is in the past: the latest century that does not put it in the future.
  const birthYear = 2000 + b[0] <= todayYear ? 2000 + b[0] : 1900 + b[0];
  let birth = isoDate(birthYear, b[1], b[2]);
  if (birth === null) return { ok: false, code: "MRZ_DATE", vars: { what: "birth" } };
  if (birth > today) {
    birth = isoDate(birthYear - 100, b[1], b[2]);
    if (birth === null) return { ok: false, code: "MRZ_DATE", vars: { what: "birth" } };
  }
  const e = yymmdd(line2.slice(21, 27));
  if (e === null) return { ok: false, code: "MRZ_DATE", vars: { what: "expiry" } };
  // Passports are valid for at most ten years, so an expiry lies within 50 years of today.
  const expiryYear = 2000 + e[0] < todayYear + 50 ? 2000 + e[0] : 1900 + e[0];
  const expiresOn = isoDate(expiryYear, e[1], e[2]);
  if (expiresOn === null) return { ok: false, code: "MRZ_DATE", vars: { what: "expiry" } };

  const rest = line1.slice(5);
  const split = rest.indexOf("<<");
  const surname = (split >= 0 ? rest.slice(0, split) : rest).replaceAll("<", " ").trim();
  const given = (split >= 0 ? rest.slice(split + 2) : "").replaceAll("<", " ").trim();
  return {
    ok: true,
    issuingState: line1.slice(2, 5).replaceAll("<", ""),
    surname,
    givenNames: given,
    name: `${surname} ${given}`.trim(),
    number,
    nationality: line2.slice(10, 13).replaceAll("<", ""),
    birthDate: birth,
    sex: sex === "<" ? "X" : sex,
    expiresOn,
  };
}

function yearsBetween(earlier, later) {
  const [ey, em, ed] = earlier.split("-").map(Number);
  const [ly, lm, ld] = later.split("-").map(Number);
  return ly - ey - (lm < em || (lm === em && ld < ed) ? 1 : 0);
}

const NAME_SEPARATORS = " ·•‧・'-.";

/** The holder's name as registry/documents.py normalise_name accepts it, or null. */
export function normaliseName(text) {
  const name = String(text).normalize("NFC").split(/\s+/).filter(Boolean).join(" ");
  if (!name || [...name].length > 64) return null;
  for (const ch of name) {
    if (!(/\p{L}|\p{M}/u.test(ch) || NAME_SEPARATORS.includes(ch))) return null;
  }
  return name;
}

function nameWords(text) {
  return text.toUpperCase().replace(/[^A-Z]/g, " ").split(/\s+/).filter(Boolean).sort();
}

/**
 * The whole form as validate_document checks it. Returns {ok, problems: {field: {code, vars}}, document}.
 * Fields: type, number, expiresOn ("" or YYYY-MM-DD), longTerm, mrz, name.
 */
export function checkDocumentForm(form, today = todayIso()) {
  const problems = {};
  let document = null;
  const name = normaliseName(form.name || "");
  if (name === null) problems.name = { code: "name", vars: {} };
  if (form.type === "resident_id") {
    const parsed = parseResidentId(form.number || "", today);
    if (!parsed.ok) {
      problems.number = parsed;
    } else if (form.longTerm) {
      if (yearsBetween(parsed.birthDate, today) < LONG_TERM_MIN_AGE_YEARS) problems.expiry = { code: "long_term_age", vars: {} };
    } else if (!form.expiresOn) {
      problems.expiry = { code: "expiry_required", vars: {} };
    } else if (form.expiresOn < today) {
      problems.expiry = { code: "expired", vars: { date: form.expiresOn } };
    }
    if (parsed.ok) document = { type: "resident_id", number: parsed.number, issuingState: "CHN", parsed };
  } else {
    const zone = parseTd3(form.mrz || "", today);
    if (!zone.ok) {
      problems.mrz = zone;
    } else {
      if (zone.expiresOn < today) problems.mrz = { code: "expired", vars: { date: zone.expiresOn } };
      // Names in other scripts (Chinese characters) cannot be compared with the transliteration.
      if (name !== null && /^[\x00-\x7f]*$/.test(name) && nameWords(name).join(" ") !== nameWords(zone.name).join(" ")) {
        problems.name = { code: "name_mrz", vars: { name: zone.name } };
      }
      document = { type: "passport", number: zone.number, issuingState: zone.issuingState || "CHN", parsed: zone };
    }
  }
  return { ok: Object.keys(problems).length === 0, problems, document, name };
}
