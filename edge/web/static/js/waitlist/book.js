// The store's booking page: a day, a 15-minute slot, the party and a phone number. The hub
// decides (capacity per slot and table group); its refusals are bilingual and shown as they are.
import { call } from "../api.js";
import { $, message } from "../dom.js";

const SLOT_MIN = 15;
const key = `b-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

const today = new Date();
$("day").value = today.toISOString().slice(0, 10);
for (let m = 10 * 60; m < 22 * 60; m += SLOT_MIN) {
  const hhmm = `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  $("slot").append(new Option(hhmm, hhmm));
}
$("slot").value = "18:00";

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("book").disabled = true;
  const body = {
    key,
    day: $("day").value,
    slot: $("slot").value,
    size: Number($("size").value),
    name: $("name").value,
    phone: $("phone").value.replace(/[\s-]/g, ""),
  };
  const r = await call("POST", "/api/bookings", body, { timeoutMs: 10000 });
  $("book").disabled = false;
  if (r.ok) {
    $("form").hidden = true;
    $("done").hidden = false;
    $("done-text").textContent = `${r.data.day} ${r.data.slot} · ${r.data.size}位 people · ${r.data.phone}`;
    return;
  }
  const d = r.data && r.data.detail;
  message((d && d.message) || `出错了 Error (${r.status})`, "error", 8000);
});
