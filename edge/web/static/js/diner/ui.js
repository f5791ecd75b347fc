// Around the menu: the message strip, the bottom sheets (the phone's back button closes them),
// the hub's refusals explained, and the page for a QR code that is not valid.
import { $, h, message } from "../dom.js";
import { t } from "../i18n.js";
import { markInvalid, markSoldOut, setTableOpen } from "./state.js";
import { INVALID } from "./strings.js";

// A message; errors stay 8 s, others 4 s, ms 0 until the next one.
export function msg(text, kind, ms) {
  message(text, kind, ms === 0 ? 0 : ms || (kind === "error" ? 8000 : 4000));
}

// ---- sheets ----

export function openSheet(id) {
  const cur = document.querySelector(".sheet:not([hidden])");
  if (cur && cur.id !== id) cur.hidden = true;
  $(id).hidden = false;
  $("backdrop").hidden = false;
  document.body.classList.add("noscroll");
  // The phone's back button closes the sheet rather than leaving the page.
  if (history.state && history.state.sheet) history.replaceState({ sheet: id }, "");
  else history.pushState({ sheet: id }, "");
}

function hideSheets() {
  for (const sheet of document.querySelectorAll(".sheet")) sheet.hidden = true;
  $("backdrop").hidden = true;
  document.body.classList.remove("noscroll");
}

export function closeSheet() {
  hideSheets();
  if (history.state && history.state.sheet) history.back();
}

window.addEventListener("popstate", () => {
  if (!(history.state && history.state.sheet)) hideSheets();
});
if (history.state && history.state.sheet) history.replaceState(null, "");
$("backdrop").addEventListener("click", closeSheet);
for (const b of document.querySelectorAll("[data-close]")) b.addEventListener("click", closeSheet);

// ---- the hub said no ----

export function showError(status, data) {
  const d = data && data.detail;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    if (d.code === "bad_token") return showInvalid();
    if (d.code === "sold_out" && d.dish) markSoldOut(d.dish);
    if (d.code === "table_closed") setTableOpen(false);
    msg(d.message || t("failed"), "error");
  } else if (status === 403) showInvalid();
  else msg(status === 422 ? t("badOrder") : typeof d === "string" ? d : t("failed"), "error");
}

export function showInvalid() {
  markInvalid(); // the live feed stops
  const box = h("div", "invalid");
  box.setAttribute("role", "alert");
  box.append(h("p", "zh", INVALID[0]), h("p", "en", INVALID[1]));
  document.body.replaceChildren(box);
  document.body.classList.remove("noscroll");
}
