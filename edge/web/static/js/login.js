// The staff login: name and PIN, then back where the staff member was going.
import { $ } from "./dom.js";
import { BOTH } from "./i18n.js";
import { call, NO_ANSWER } from "./api.js";

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = $("error");
  error.hidden = true;
  const body = { name: $("name").value.trim(), pin: $("pin").value };
  const r = await call("POST", "/api/login", body);
  if (r.ok) {
    // Back where the staff member was going (only a path on this hub).
    const next = new URLSearchParams(location.search).get("next") || "/board";
    location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/board";
    return;
  }
  if (r.status === NO_ANSWER) error.textContent = BOTH.unreachable;
  else error.textContent = r.data && typeof r.data.detail === "string" ? r.data.detail : BOTH.loginFailed;
  error.hidden = false;
});
