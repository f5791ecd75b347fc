"use strict";
// The staff board: a snapshot on connect, then live updates over one WebSocket.
const REASONS = {
  service: "服务 Service",
  bill: "结账 Bill",
  water: "加水 Water",
};
const ANSWERED_VISIBLE_MS = 4000;
const list = document.getElementById("calls");
const tpl = document.getElementById("call-tpl");
const calls = new Map(); // id -> {call, el}
let clockOffset = 0; // hub clock minus this browser's clock, seconds

function hubNow() {
  return Date.now() / 1000 + clockOffset;
}

function fmtWait(s) {
  s = Math.max(0, Math.floor(s));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}分${s % 60}秒 ${m}m ${s % 60}s` : `${s}秒 ${s}s`;
}

function render(call) {
  let entry = calls.get(call.id);
  if (!entry) {
    if (call.status === "acked") return; // answered elsewhere before we ever saw it
    const el = tpl.content.firstElementChild.cloneNode(true);
    el.dataset.id = String(call.id);
    el.querySelector(".ack").addEventListener("click", () => acknowledge(call.id, el));
    entry = { call, el };
    calls.set(call.id, entry);
    list.appendChild(el);
  }
  entry.call = call;
  const el = entry.el;
  el.querySelector(".table").textContent = call.table || call.device;
  el.querySelector(".zone").textContent = call.zone ? `区 Zone ${call.zone}` : "";
  el.querySelector(".reason").textContent = REASONS[call.reason] || call.reason;
  el.querySelector(".presses").textContent = call.presses > 1 ? `×${call.presses}` : "";
  el.classList.toggle("urgent", call.status === "urgent");
  el.dataset.status = call.status;
  if (call.status === "acked") {
    const ans = el.querySelector(".answered");
    ans.hidden = false;
    ans.textContent = `已确认 Acknowledged · ${call.acked_by} · ${call.response_s.toFixed(1)}s`;
    el.querySelector(".ack").hidden = true;
    el.classList.add("done");
    setTimeout(() => {
      el.remove();
      calls.delete(call.id);
      updateCounts();
    }, ANSWERED_VISIBLE_MS);
  }
  tick(entry);
}

function tick(entry) {
  const c = entry.call;
  const end = c.acked_at || hubNow();
  entry.el.querySelector(".waited").textContent = fmtWait(end - c.created_at);
}

function updateCounts() {
  let open = 0;
  let urgent = 0;
  for (const { call } of calls.values()) {
    if (call.status !== "acked") open += 1;
    if (call.status === "urgent") urgent += 1;
  }
  document.getElementById("open-count").textContent = String(open);
  const u = document.getElementById("urgent-count");
  u.textContent = `紧急 Urgent ${urgent}`;
  u.hidden = urgent === 0;
  document.getElementById("empty").hidden = open > 0;
}

async function acknowledge(id, el) {
  const button = el.querySelector(".ack");
  button.disabled = true;
  try {
    const res = await fetch(`/api/calls/${id}/ack`, { method: "POST" });
    if (res.status === 401) {
      location.href = "/login";
      return;
    }
    if (!res.ok) throw new Error(String(res.status));
    render(await res.json());
    updateCounts();
  } catch (e) {
    button.disabled = false;
    button.textContent = "重试 Retry";
  }
}

function onLive(msg) {
  clockOffset = msg.now - Date.now() / 1000;
  if (msg.type === "snapshot") {
    document.getElementById("staff").textContent = msg.staff;
    for (const [id, entry] of calls) {
      if (!msg.calls.some((c) => c.id === id)) {
        entry.el.remove();
        calls.delete(id);
      }
    }
  }
  for (const call of msg.calls) render(call);
  updateCounts();
}

document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" });
  location.href = "/login";
});

setInterval(() => {
  for (const entry of calls.values()) tick(entry);
}, 1000);

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
  const res = await fetch("/api/stats").catch(() => null);
  if (!res || !res.ok) return;
  const s = await res.json();
  const el = document.getElementById("uplink");
  const clock = clockWarning(s);
  let text;
  if (s.outbox_backlog === 0) {
    text = s.cloud_healthy ? "总部已同步 HQ in sync" : "";
  } else {
    const age = s.outbox_oldest_age_s || 0;
    const wait = age >= 60 ? `${Math.floor(age / 60)}分钟 ${Math.floor(age / 60)} min` : `${Math.round(age)}秒 ${Math.round(age)} s`;
    text = `待上传 ${s.outbox_backlog} 条 · ${wait} / ${s.outbox_backlog} waiting for HQ`;
  }
  el.textContent = [clock, text].filter(Boolean).join(" · ");
  el.classList.toggle("down", !!clock || (s.outbox_backlog > 0 && !s.cloud_healthy));
}
showUplink();
setInterval(showUplink, 10000);
updateCounts();
followBoard(onLive, "/login");
