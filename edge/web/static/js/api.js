// One way for every page to call the hub: JSON in and out, an optional time limit, the hub's
// refusals as text, and a staff session that is gone sending the browser to the login page.
import { BOTH } from "./i18n.js";

export const NO_ANSWER = 0; // the status when the hub did not answer (offline, time limit)

// {ok, status, data}; never throws. With login, a 401 sends the browser there.
export async function call(method, path, body, { timeoutMs = 0, login = "" } = {}) {
  const ctl = timeoutMs && typeof AbortController === "function" ? new AbortController() : null;
  const timer = ctl ? setTimeout(() => ctl.abort(), timeoutMs) : 0;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: ctl ? ctl.signal : undefined,
    });
  } catch (e) {
    return { ok: false, status: NO_ANSWER, data: null };
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 401 && login) location.href = login;
  const data = await res.json().catch(() => null);
  return { ok: res.ok, status: res.status, data };
}

// The hub's error envelope ({detail: {code, message}} or {detail: "text"}) as one line.
export function errorText(status, data) {
  const d = data && data.detail;
  if (d && typeof d === "object" && !Array.isArray(d) && d.message) return d.message;
  if (typeof d === "string") return d;
  return BOTH.error(status);
}

// For a staff page: api(method, path, body) gives the answer's data, or null when it failed
// (the failure already shown with show(text); a gone session goes to the login page).
export function staffApi(login, show) {
  return async (method, path, body) => {
    const r = await call(method, path, body, { login });
    if (r.status === 401) return null;
    if (r.status === NO_ANSWER) {
      show(BOTH.unreachable);
      return null;
    }
    if (!r.ok) {
      show(errorText(r.status, r.data));
      return null;
    }
    return r.data || {};
  };
}

// Who is logged in, and their role on <body data-role>: board.css shows what only a manager
// may do (class "manager-only") to managers alone. The hub refuses it to waiters anyway (403);
// this only spares them buttons that cannot work.
export async function showRole() {
  const r = await call("GET", "/api/me");
  if (r.ok && r.data) document.body.dataset.role = r.data.role;
  return r.ok ? r.data : null;
}

export async function logout() {
  await call("POST", "/api/logout");
  location.href = "/login";
}
