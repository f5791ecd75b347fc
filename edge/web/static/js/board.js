// The calls board: a snapshot on connect, then live updates over one WebSocket.
import { $ } from "./dom.js";
import { BOTH, duration } from "./i18n.js";
import { call, logout } from "./api.js";
import { followBoard } from "./live.js";

const LOGIN = "/login";
const REASONS = {
  service: "服务 Service",
  bill: "结账 Bill",
  water: "加水 Water",
};
const ANSWERED_VISIBLE_MS = 4000;
const list = $("calls");
const tpl = $("call-tpl");
const calls = new Map(); // id -> {call, el}
const clock = { offset: 0 }; // hub clock minus this browser's clock, seconds

const hubNow = () => Date.now() / 1000 + clock.offset;

function render(c) {
  let entry = calls.get(c.id);
  if (!entry) {
    if (c.status === "acked") return; // answered elsewhere before we ever saw it
    const el = tpl.content.firstElementChild.cloneNode(true);
    el.dataset.id = String(c.id);
    el.querySelector(".ack").addEventListener("click", () => acknowledge(c.id, el));
    entry = { call: c, el };
    calls.set(c.id, entry);
    list.appendChild(el);
  }
  entry.call = c;
  const el = entry.el;
  el.querySelector(".table").textContent = c.table || c.device;
  el.querySelector(".zone").textContent = c.zone ? `区 Zone ${c.zone}` : "";
  el.querySelector(".reason").textContent = REASONS[c.reason] || c.reason;
  el.querySelector(".presses").textContent = c.presses > 1 ? `×${c.presses}` : "";
  el.classList.toggle("urgent", c.status === "urgent");
  el.dataset.status = c.status;
  if (c.status === "acked") {
    const ans = el.querySelector(".answered");
    ans.hidden = false;
    ans.textContent = `已确认 Acknowledged · ${c.acked_by} · ${c.response_s.toFixed(1)}s`;
    el.querySelector(".ack").hidden = true;
    el.classList.add("done");
    setTimeout(() => {
      el.remove();
      calls.delete(c.id);
      updateCounts();
    }, ANSWERED_VISIBLE_MS);
  }
  tick(entry);
}

function tick(entry) {
  const c = entry.call;
  const end = c.acked_at || hubNow();
  entry.el.querySelector(".waited").textContent = duration(end - c.created_at);
}

function updateCounts() {
  let open = 0;
  let urgent = 0;
  for (const { call: c } of calls.values()) {
    if (c.status !== "acked") open += 1;
    if (c.status === "urgent") urgent += 1;
  }
  $("open-count").textContent = String(open);
  const u = $("urgent-count");
  u.textContent = `紧急 Urgent ${urgent}`;
  u.hidden = urgent === 0;
  $("empty").hidden = open > 0;
}

async function acknowledge(id, el) {
  const button = el.querySelector(".ack");
  button.disabled = true;
  const r = await call("POST", `/api/calls/${id}/ack`, undefined, { login: LOGIN });
  if (r.status === 401) return;
  if (r.ok && r.data) {
    render(r.data);
    updateCounts();
    return;
  }
  button.disabled = false;
  button.textContent = BOTH.retry;
}

function onLive(msg) {
  clock.offset = msg.now - Date.now() / 1000;
  if (msg.type === "snapshot") {
    $("staff").textContent = msg.staff;
    for (const [id, entry] of calls) {
      if (!msg.calls.some((c) => c.id === id)) {
        entry.el.remove();
        calls.delete(id);
      }
    }
  }
  for (const c of msg.calls) render(c);
  updateCounts();
}

function clockWarning(s) {
  // A hub clock far from HQ's files orders under the wrong hour: the manager should know.
  if (s.clock_ok !== false) return "";
  const min = Math.round(Math.abs(s.clock_offset_s) / 60);
  return s.clock_offset_s > 0
    ? `集线器时间快了 ${min} 分钟，请校准 / Hub clock ${min} min ahead: set its time`
    : `集线器时间慢了 ${min} 分钟，请校准 / Hub clock ${min} min behind: set its time`;
}

async function showUplink() {
  // What has not reached HQ yet: nothing is lost while the internet is down, it waits here.
  const r = await call("GET", "/api/stats");
  if (!r.ok || !r.data) return;
  const s = r.data;
  const clockText = clockWarning(s);
  let text;
  if (s.outbox_backlog === 0) {
    text = s.cloud_healthy ? "总部已同步 HQ in sync" : "";
  } else {
    const age = s.outbox_oldest_age_s || 0;
    const wait = age >= 60 ? `${Math.floor(age / 60)}分钟 ${Math.floor(age / 60)} min` : `${Math.round(age)}秒 ${Math.round(age)} s`;
    text = `待上传 ${s.outbox_backlog} 条 · ${wait} / ${s.outbox_backlog} waiting for HQ`;
  }
  const el = $("uplink");
  el.textContent = [clockText, text].filter(Boolean).join(" · ");
  el.classList.toggle("down", !!clockText || (s.outbox_backlog > 0 && !s.cloud_healthy));
}

$("logout").addEventListener("click", logout);
setInterval(() => {
  for (const entry of calls.values()) tick(entry);
}, 1000);
showUplink();
setInterval(showUplink, 10000);
updateCounts();
followBoard(onLive, LOGIN);
