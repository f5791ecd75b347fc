// Feedback after the bill: when the table has paid, the page asks for 1-5 stars for the food
// and the service and an optional comment. Skippable; once per bill (the hub refuses a second,
// so a second phone of the party that sends too is told so). The comment is the diner's text:
// it is sent as JSON and never put into the page as markup.
import { $, h } from "../dom.js";
import { call } from "../api.js";
import { t, currentLang } from "../i18n.js";
import { API } from "./state.js";
import { msg, openSheet, closeSheet, showError } from "./ui.js";

const STARS = [1, 2, 3, 4, 5];
let payment = null; // the bill being rated

function stars(box, name) {
  box.replaceChildren(
    ...STARS.map((n) => {
      const label = h("label", "fb-star");
      const input = h("input");
      input.type = "radio";
      input.name = name;
      input.value = String(n);
      label.append(input, h("span", "", "★".repeat(n)));
      label.setAttribute("aria-label", t("fbStars", n));
      return label;
    })
  );
}

const picked = (name) => {
  const e = document.querySelector(`#feedback-sheet input[name="${name}"]:checked`);
  return e ? Number(e.value) : 0;
};

export function offerFeedback(p) {
  if (!p || !p.id || p.id === payment) return;
  payment = p.id;
  stars($("fb-food"), "food");
  stars($("fb-service"), "service");
  $("fb-comment").value = "";
  openSheet("feedback-sheet");
}

async function send(ev) {
  ev.preventDefault();
  const food = picked("food");
  const service = picked("service");
  if (!food || !service) return msg(t("fbNeedStars"), "error");
  const btn = $("fb-send");
  btn.disabled = true;
  const body = { payment, food, service, comment: $("fb-comment").value.trim(), lang: currentLang() };
  const r = await call("POST", `${API}/feedback`, body, { timeoutMs: 15000 });
  btn.disabled = false;
  if (!r.ok) return showError(r.status, r.data);
  closeSheet();
  msg(t("fbThanks"), "ok", 6000);
}

$("feedback-sheet").addEventListener("submit", send);
$("fb-skip").addEventListener("click", closeSheet);
