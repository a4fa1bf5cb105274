// The pages' only way to the API: JSON in and out, problem details turned into ApiError.

export class ApiError extends Error {
  constructor(status, code, detail, body = {}) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.body = body;
  }
}

/**
 * Call the API. `token` goes in the Authorization header; `json` is sent as JSON, `form` as
 * multipart. Network failures become ApiError with status 0 and code "OFFLINE".
 */
export async function api(path, { method = "GET", token = null, json = undefined, form = undefined, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json, application/problem+json", ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "OFFLINE", String(err && err.message ? err.message : err));
  }
  const type = response.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) {
    body = await response.json().catch(() => null);
  } else {
    body = await response.text().catch(() => "");
  }
  if (!response.ok) {
    const code = (body && body.code) || `HTTP_${response.status}`;
    const detail = (body && body.detail) || response.statusText;
    throw new ApiError(response.status, code, detail, body || {});
  }
  return body;
}

export function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** Escape text for innerHTML templates. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
