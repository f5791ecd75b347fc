// A number's page on the diner's phone: the number, the parties ahead and the estimated wait,
// live (the hub says when the line moved, the page asks again); a sound and a vibration when
// the number is called; leaving the line.
import { call } from "../api.js";
import { $, message } from "../dom.js";
import { applyLang, languageSwitch, onLangChange, t } from "../i18n.js";
import { liveFeed } from "../live.js";
import "./strings.js";

const token = decodeURIComponent(location.pathname.split("/").pop());
let party = null;
let alertedCalls = 0; // calls already announced on this phone (a repeat call alerts again)
let audio = null;

function render() {
  if (!party) return;
  $("number").textContent = party.number;
  $("group").textContent = `${t("group", party.group_zh, party.group_en)} · ${t("people", party.size)}`;
  $("state").textContent = t(party.status);
  $("card").classList.toggle("called", party.status === "called");
  const waiting = party.status === "waiting";
  $("ahead").textContent = waiting ? t("ahead", party.ahead) : "";
  $("estimate").textContent =
    waiting && party.est_high_min !== null ? t("estimate", party.est_low_min, party.est_high_min) : "";
  $("priority").textContent = waiting
    ? party.priority ? t("priority") : t("fairness", party.max_passed_over)
    : "";
  $("leave").hidden = !["waiting", "called"].includes(party.status);
}

// A generated two-tone ding (Web Audio: no file to fetch). Phones only play sound after a tap on
// the page: the "turn on the sound" button is that tap.
function ding() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const start = audio.currentTime + 0.02;
    [[988, 0], [740, 0.4], [988, 0.8]].forEach(([freq, at]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.6, start + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + at);
      osc.stop(start + at + 0.4);
    });
    return audio.state;
  } catch (e) {
    return "unavailable";
  }
}

function alertIfCalled() {
  if (party.status !== "called" || party.calls <= alertedCalls) return;
  alertedCalls = party.calls;
  document.body.dataset.alerts = String(Number(document.body.dataset.alerts) + 1);
  document.body.dataset.audio = ding();
  if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
}

async function refresh() {
  const r = await call("GET", `/api/waitlist/me/${encodeURIComponent(token)}`);
  if (!r.ok) {
    if (r.data && r.data.detail) message(r.data.detail.message || t("bad"), "error", 0);
    return;
  }
  const first = party === null;
  party = r.data;
  // A page opened after the call (a reload) shows it, but does not ring for an old call.
  if (first && party.status === "called") alertedCalls = party.calls - 1;
  alertIfCalled();
  render();
}

$("leave").addEventListener("click", async () => {
  if (!confirm(t("leaveConfirm"))) return;
  const r = await call("POST", `/api/waitlist/me/${encodeURIComponent(token)}/leave`);
  if (!r.ok) message((r.data && r.data.detail && r.data.detail.message) || t("bad"), "error", 5000);
  await refresh();
});
$("enable-sound").addEventListener("click", () => {
  document.body.dataset.audio = ding();
  $("enable-sound").hidden = true;
});

onLangChange(render);
languageSwitch($("lang"));
applyLang();
const feed = liveFeed(`/ws/waitlist/${encodeURIComponent(token)}`, {
  onOpen: () => {
    $("live").textContent = t("live");
    $("live").classList.remove("down");
    refresh();
  },
  onMessage: (msg) => { if (msg.type === "waitlist") refresh(); },
  onClose: () => {
    $("live").textContent = t("offline");
    $("live").classList.add("down");
  },
  jitterMs: 1000, // a hub restart: a hundred phones do not all come back at the same instant
});
feed.connect();
setInterval(refresh, 30000); // the estimate ages even when nobody moves
refresh();
