// The orders page's link to the hub: its message strip and its calls (a session that is gone
// sends the browser to the login page, and back here after it).
import { message } from "../dom.js";
import { staffApi } from "../api.js";

export const LOGIN = "/login?next=/orders";

// Errors stay 8 s, "ok" 3 s.
export const msg = (text, kind = "error") => message(text, kind, kind === "ok" ? 3000 : 8000);

// api(method, path, body): the answer's data, or null (the failure already shown).
export const api = staffApi(LOGIN, msg);
