// The page the QR code at the door opens: how many people → a number, then that number's page.
// The request id is made here and kept until answered: a retried tap gets the same number.
import { call } from "../api.js";
import { $, h, message, saved } from "../dom.js";
import { applyLang, languageSwitch, t } from "../i18n.js";
import "./strings.js";

const PENDING = "smartstore.waitlist.pending";
let size = 0;

function pick(n) {
  size = n;
  for (const b of $("sizes").children) b.classList.toggle("on", Number(b.dataset.size) === n);
  $("take").disabled = !(n >= 1);
}

for (let n = 1; n <= 8; n += 1) {
  const b = h("button", "", n);
  b.type = "button";
  b.dataset.size = String(n);
  b.addEventListener("click", () => { $("more").value = ""; pick(n); });
  $("sizes").append(b);
}
$("more").addEventListener("input", () => pick(Number($("more").value)));

$("take").addEventListener("click", async () => {
  $("take").disabled = true;
  let pending = saved.get(PENDING);
  if (!pending || pending.size !== size) {
    pending = { size, key: `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
    saved.set(PENDING, pending);
  }
  const r = await call("POST", "/api/waitlist/take", { key: pending.key, size }, { timeoutMs: 10000 });
  $("take").disabled = false;
  if (r.ok) {
    saved.set(PENDING, null);
    location.href = `/w/${r.data.token}`;
    return;
  }
  const detail = r.data && r.data.detail;
  message((detail && detail.message) || t("bad"), "error", 6000);
});

languageSwitch($("lang"));
applyLang();
