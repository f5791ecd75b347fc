// The device board: every device with its state, live; alarms on top; commands with replies.
import { $ } from "./dom.js";
import { BOTH, ago as agoText } from "./i18n.js";
import { call, logout, NO_ANSWER, showRole } from "./api.js";
import { followBoard } from "./live.js";

const LOGIN = "/login?next=/devices";
const TYPES = {
  call_button: "呼叫按钮 Call buttons",
  smart_table: "智能餐桌 Smart tables",
  kiosk: "自助点餐机 Kiosks",
  queue_screen: "叫号屏 Queue screens",
  printer: "打印机 Printers",
};
const STATES = {
  online: "在线 Online",
  asleep: "休眠 Asleep",
  offline: "离线 Offline",
  unknown: "未连接 Never seen",
};
const REASONS = { will: "连接中断 link lost", goodbye: "已关机 shut down", silent: "无心跳 silent" };
const PAPER = { ok: "纸 Paper OK", low: "纸将用完 Paper low", out: "缺纸 Paper out" };
const COMMAND_LABELS = { locate: "定位 Locate", display: "显示 Display…", reboot: "重启 Reboot" };
const COMMAND_STATUS = {
  pending: "等待设备确认 Waiting for the device…",
  ok: "设备已确认 Confirmed by the device",
  error: "设备报错 Device error",
  timeout: "设备未回应 No reply from the device",
};

const devices = new Map(); // id -> device
const alarms = new Map(); // alarm id -> alarm
const lastCommand = new Map(); // device id -> command
let labels = {}; // alarm kind -> label, from the hub
let commandsByType = {};
let clockOffset = 0;

const hubNow = () => Date.now() / 1000 + clockOffset;
const ago = (t) => (t ? agoText(hubNow() - t) : "—");

function matches(d) {
  const type = $("f-type").value;
  const state = $("f-state").value;
  const zone = $("f-zone").value;
  const text = $("f-text").value.trim().toLowerCase();
  if (type && d.type !== type) return false;
  if (state === "alarm" ? d.alarms.length === 0 : state && d.state !== state) return false;
  if (zone && d.zone !== zone) return false;
  if (text && ![d.id, d.table, d.zone, d.station].some((v) => v && v.toLowerCase().includes(text)))
    return false;
  return true;
}

function card(d) {
  const el = document.querySelector(`li.device[data-id="${CSS.escape(d.id)}"]`) ||
    document.getElementById("device-tpl").content.firstElementChild.cloneNode(true);
  el.dataset.id = d.id;
  el.dataset.state = d.state;
  el.classList.toggle("alarm", d.alarms.length > 0);
  el.querySelector(".name").textContent = d.table ? `${d.table} · ${d.id}` : d.id;
  const state = el.querySelector(".state");
  state.textContent = STATES[d.state] || d.state;
  state.title = d.state_reason ? REASONS[d.state_reason] || d.state_reason : "";
  el.querySelector(".where").textContent = [
    d.zone && `区 Zone ${d.zone}`,
    d.station && `档口 Station ${d.station}`,
    d.state === "offline" && d.state_reason && (REASONS[d.state_reason] || d.state_reason),
  ].filter(Boolean).join(" · ");
  const facts = [];
  if (d.battery_pct !== null) facts.push(`电量 Battery ${Math.round(d.battery_pct)}%`);
  if (d.rssi_dbm !== null) facts.push(`信号 ${d.rssi_dbm} dBm`);
  if (d.paper) facts.push(PAPER[d.paper] || d.paper);
  if (d.fw) facts.push(`固件 fw ${d.fw}`);
  facts.push(`最后在线 Last seen ${ago(d.last_seen)}`);
  el.querySelector(".facts").textContent = facts.join(" · ");
  const badges = el.querySelector(".badges");
  badges.replaceChildren(
    ...d.alarms.map((kind) => {
      const li = document.createElement("li");
      li.className = `badge ${kind}`;
      li.textContent = labels[kind] || kind;
      return li;
    }),
  );
  const actions = el.querySelector(".actions");
  if (!actions.childElementCount) {
    for (const name of commandsByType[d.type] || []) {
      const b = document.createElement("button");
      b.className = "quiet cmd manager-only";
      b.dataset.command = name;
      b.textContent = COMMAND_LABELS[name] || name;
      b.addEventListener("click", () => sendCommand(d.id, name));
      actions.appendChild(b);
    }
  }
  showCommand(el, lastCommand.get(d.id));
  return el;
}

function showCommand(el, c) {
  const out = el.querySelector(".cmd-status");
  if (!c) {
    out.textContent = "";
    return;
  }
  out.dataset.status = c.status;
  const name = COMMAND_LABELS[c.name] || c.name;
  out.textContent = `${name}: ${COMMAND_STATUS[c.status] || c.status}${c.error ? ` (${c.error})` : ""}`;
}

function render() {
  const groups = $("groups");
  const byGroup = new Map();
  const zones = new Set();
  const counts = { online: 0, asleep: 0, offline: 0, unknown: 0 };
  for (const d of [...devices.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    counts[d.state] = (counts[d.state] || 0) + 1;
    if (d.zone) zones.add(d.zone);
    if (!matches(d)) continue;
    const key = `${d.type}|${d.zone}`;
    if (!byGroup.has(key)) byGroup.set(key, []);
    byGroup.get(key).push(d);
  }
  const sections = [];
  for (const type of Object.keys(TYPES)) {
    for (const [key, list] of [...byGroup].filter(([k]) => k.startsWith(`${type}|`)).sort()) {
      const zone = key.split("|")[1];
      const section = document.createElement("section");
      section.className = "group";
      const h = document.createElement("h2");
      h.textContent = `${TYPES[type]}${zone ? ` · 区 Zone ${zone}` : ""} (${list.length})`;
      const ul = document.createElement("ul");
      ul.className = "devices";
      ul.append(...list.map(card));
      section.append(h, ul);
      sections.push(section);
    }
  }
  if (!sections.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "没有符合条件的设备 No devices match";
    sections.push(p);
  }
  groups.replaceChildren(...sections);
  // A battery button asleep between presses is working as it should.
  $("count-online").textContent = `在线 Online ${counts.online + counts.asleep}`;
  $("count-offline").textContent = `离线 Offline ${counts.offline}`;
  $("count-unknown").textContent = `未连接 Never seen ${counts.unknown}`;
  const zoneSelect = $("f-zone");
  for (const z of [...zones].sort()) {
    if (![...zoneSelect.options].some((o) => o.value === z)) zoneSelect.add(new Option(z, z));
  }
  renderAlarms();
}

function renderAlarms() {
  const list = [...alarms.values()].sort((a, b) => b.raised_at - a.raised_at);
  $("alarms").hidden = list.length === 0;
  $("alarm-count").textContent = String(list.length);
  $("alarm-list").replaceChildren(
    ...list.map((a) => {
      const li = document.createElement("li");
      li.className = `alarm-row ${a.kind}`;
      li.dataset.device = a.device;
      li.dataset.kind = a.kind;
      const d = devices.get(a.device);
      const where = d && d.table ? `${d.table} · ${a.device}` : a.device;
      li.textContent = `${a.label} — ${where} — ${ago(a.raised_at)}`;
      return li;
    }),
  );
}

function alarmsFromDevices() {
  // The snapshot lists active alarm kinds per device; ids come with live raised messages.
  alarms.clear();
  for (const d of devices.values()) {
    for (const kind of d.alarms) {
      alarms.set(`${d.id}:${kind}`, { device: d.id, kind, label: labels[kind] || kind, raised_at: d.state_at || d.last_seen });
    }
  }
}

async function sendCommand(id, name) {
  let args = {};
  if (name === "reboot" && !confirm(`重启 ${id}？ Reboot ${id}?`)) return;
  if (name === "display") {
    const text = prompt("显示的文字 Text to show (≤ 64)");
    if (!text) return;
    args = { text };
  }
  const r = await call("POST", `/api/devices/${encodeURIComponent(id)}/commands`, { name, args }, { login: LOGIN });
  if (r.status === 401) return;
  const data = r.data || {};
  if (!r.ok) {
    const error = r.status === NO_ANSWER ? BOTH.unreachable : data.detail;
    lastCommand.set(id, { name, status: "error", error });
  } else {
    // The device may have answered (over the socket) before this response arrived: keep
    // its answer rather than going back to "pending".
    const known = lastCommand.get(id);
    if (!(known && known.id === data.id && known.status !== "pending")) lastCommand.set(id, data);
  }
  render();
}

function onLive(msg) {
  clockOffset = msg.now ? msg.now - Date.now() / 1000 : clockOffset;
  if (msg.type === "snapshot") {
    labels = msg.alarm_labels;
    commandsByType = msg.commands;
    $("staff").textContent = msg.staff;
    devices.clear();
    for (const d of msg.devices) devices.set(d.id, d);
    alarmsFromDevices();
  } else if (msg.type === "devices") {
    for (const d of msg.devices) devices.set(d.id, d);
    for (const a of msg.cleared) alarms.delete(`${a.device}:${a.kind}`);
    for (const a of msg.raised) alarms.set(`${a.device}:${a.kind}`, a);
  } else if (msg.type === "seen") {
    // Heartbeats: a few fields of many devices, as rows of values.
    for (const row of msg.rows) {
      const d = devices.get(row[0]);
      if (d) msg.fields.forEach((f, i) => { if (i > 0) d[f] = row[i]; });
    }
  } else if (msg.type === "commands") {
    for (const c of msg.commands) lastCommand.set(c.device, c);
  } else {
    return; // calls: the other board's business
  }
  render();
}

$("filters").addEventListener("submit", (ev) => ev.preventDefault());
for (const id of ["f-type", "f-state", "f-zone", "f-text"]) $(id).addEventListener("input", render);
$("logout").addEventListener("click", logout);
showRole();
setInterval(render, 5000); // "last seen" ages even when nothing arrives
followBoard(onLive, LOGIN);
