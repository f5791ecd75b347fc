// The open orders, oldest first: their lines (void one), their print jobs (reprint one), how
// long they have waited, and "done". One element per order, updated in place.
import { $, h } from "../dom.js";
import { both, duration, money } from "../i18n.js";
import { api, msg } from "./hub.js";

const JOB_STATUS = { pending: "待打印 Pending", sending: "打印中 Sending", sent: "已打印 Sent" };
const JOB_KIND = { kitchen: "厨房单 Kitchen", void: "作废单 VOID", receipt: "小票 Receipt" };
const SOURCES = { table: "扫码 Table QR", kiosk: "自助机 Kiosk" };
const LATE_S = 15 * 60;
const SLOW_S = 8 * 60;

const orders = new Map(); // id -> {order, el}
const view = { clockOffset: 0, highlightNew: false }; // hub clock minus ours; after the first snapshot

const hubNow = () => Date.now() / 1000 + view.clockOffset;

// Keep one element per key and update it in place: a tap is not lost to a redraw.
function sync(ul, items, attr, make, update) {
  const old = new Map([...ul.children].map((li) => [li.dataset[attr], li]));
  items.forEach((it, i) => {
    let li = old.get(String(it.id));
    if (!li) {
      li = make(it);
      li.dataset[attr] = String(it.id);
    }
    update(li, it);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  while (ul.children.length > items.length) ul.lastElementChild.remove();
}

function makeLine(orderId) {
  return (l) => {
    const li = h("li", "line");
    const name = h("div", "lname");
    name.append(h("span", "qty"), h("span", "name"), h("span", "void-mark", "已作废 VOID"));
    const b = h("button", "void manager-only", "作废 Void");
    b.addEventListener("click", () => voidLine(orderId, l.id, b));
    li.append(name, b, h("div", "opts"), h("div", "note"));
    return li;
  };
}

function updateLine(li, l) {
  const isVoid = l.status === "void";
  li.classList.toggle("is-void", isVoid);
  li.dataset.status = l.status;
  li.querySelector(".qty").textContent = `${l.qty}×`;
  li.querySelector(".name").textContent = both(l);
  li.querySelector(".void-mark").hidden = !isVoid;
  li.querySelector(".void").hidden = isVoid;
  const opts = (l.options || []).map(both).join(" · ");
  li.querySelector(".opts").textContent = opts;
  li.querySelector(".opts").hidden = !opts;
  li.querySelector(".note").textContent = l.note ? `备注 Note: ${l.note}` : "";
  li.querySelector(".note").hidden = !l.note;
}

function makeJob() {
  return (j) => {
    const li = h("li", "job");
    const b = h("button", "reprint", "补打 Reprint");
    b.addEventListener("click", () => reprint(li.dataset.job, b));
    li.append(h("span", "kind"), h("span", "job-status"), h("span", "rp", "REPRINT"), h("span", "tries"), b, h("div", "err"));
    return li;
  };
}

function updateJob(li, j) {
  li.dataset.status = j.status;
  li.querySelector(".kind").textContent = [JOB_KIND[j.kind] || j.kind, j.station, j.printer].filter(Boolean).join(" · ");
  const st = li.querySelector(".job-status");
  st.textContent = JOB_STATUS[j.status] || j.status;
  st.dataset.status = j.status;
  li.querySelector(".rp").hidden = !j.reprint;
  const tries = li.querySelector(".tries");
  tries.textContent = j.attempts > 1 ? `第${j.attempts}次 ${j.attempts} tries` : "";
  tries.hidden = !(j.attempts > 1);
  const err = li.querySelector(".err");
  err.textContent = j.error ? `错误 Error: ${j.error}` : "";
  err.hidden = !j.error;
}

function render(order) {
  let entry = orders.get(order.id);
  if (order.status !== "accepted") {
    if (entry) {
      entry.el.remove();
      orders.delete(order.id);
    }
    return;
  }
  if (!entry) {
    const el = $("order-tpl").content.firstElementChild.cloneNode(true);
    el.dataset.order = order.id;
    const done = el.querySelector(".done");
    done.addEventListener("click", () => markDone(order.id, done));
    entry = { order, el };
    orders.set(order.id, entry);
    if (view.highlightNew) {
      el.classList.add("new");
      setTimeout(() => el.classList.remove("new"), 6000);
    }
  }
  entry.order = order;
  const el = entry.el;
  el.querySelector(".no").textContent = `#${order.no}`;
  el.querySelector(".table").textContent = order.table || "";
  el.querySelector(".src").textContent = SOURCES[order.source] || order.source || "";
  sync(el.querySelector(".lines"), order.lines || [], "line", makeLine(order.id), updateLine);
  const note = el.querySelector(".onote");
  note.textContent = order.note ? `整单备注 Order note: ${order.note}` : "";
  note.hidden = !order.note;
  const jobs = order.print || [];
  sync(el.querySelector(".jobs"), jobs, "job", makeJob(), updateJob);
  el.classList.toggle("print-error", jobs.some((j) => j.error && j.status !== "sent"));
  el.classList.toggle("print-wait", jobs.some((j) => j.status !== "sent"));
  el.querySelector(".total").textContent = `合计 Total ${money(order.total_fen)}`;
  tick(entry);
}

function tick(entry) {
  const age = hubNow() - entry.order.created_at;
  const a = entry.el.querySelector(".age");
  a.textContent = duration(age);
  entry.el.classList.toggle("slow", age >= SLOW_S && age < LATE_S);
  entry.el.classList.toggle("late", age >= LATE_S);
}

export function placeAll() {
  // Oldest first: the kitchen works from the top.
  const list = [...orders.values()].sort((a, b) => a.order.created_at - b.order.created_at);
  const ul = $("orders");
  list.forEach((e, i) => { if (ul.children[i] !== e.el) ul.insertBefore(e.el, ul.children[i] || null); });
  $("order-count").textContent = String(list.length);
  $("empty").hidden = list.length > 0;
}

async function markDone(id, button) {
  button.disabled = true;
  const data = await api("POST", `/api/orders/${encodeURIComponent(id)}/done`);
  button.disabled = false;
  if (!data) return;
  const no = orders.has(id) ? orders.get(id).order.no : data.no;
  if (data.id) render(data);
  else if (orders.has(id)) render(Object.assign({}, orders.get(id).order, { status: "done" }));
  placeAll();
  msg(`#${no} 已出餐 Done`, "ok");
}

async function voidLine(orderId, lineId, button) {
  const entry = orders.get(orderId);
  const line = entry && (entry.order.lines || []).find((l) => l.id === lineId);
  const what = line ? `${line.qty}× ${both(line)}` : `#${lineId}`;
  const no = entry ? `#${entry.order.no} ` : "";
  if (!confirm(`作废 ${no}${what}？\nVoid ${no}${what}?`)) return;
  button.disabled = true;
  const data = await api("POST", `/api/orders/${encodeURIComponent(orderId)}/lines/${encodeURIComponent(lineId)}/void`);
  button.disabled = false;
  if (data && data.id) {
    render(data);
    placeAll();
    msg(`已作废 Voided: ${what}`, "ok");
  }
}

async function reprint(jobId, button) {
  button.disabled = true;
  const job = await api("POST", `/api/print-jobs/${encodeURIComponent(jobId)}/reprint`);
  button.disabled = false;
  if (!job) return;
  msg("已补打 Sent to the printer again", "ok");
  if (!job.id) return;
  for (const entry of orders.values()) {
    const jobs = entry.order.print || [];
    if (!jobs.some((j) => j.id === jobId || j.id === job.id)) continue;
    const i = jobs.findIndex((j) => j.id === job.id);
    entry.order = Object.assign({}, entry.order, { print: i >= 0 ? jobs.map((j) => (j.id === job.id ? job : j)) : [...jobs, job] });
    render(entry.order);
  }
}
// ---- from the live feed ----

export function setHubClock(now) {
  view.clockOffset = now - Date.now() / 1000;
}

// Everything open now (on connect, again after a gap): what is gone is gone.
export function showSnapshot(list) {
  const ids = new Set(list.map((o) => o.id));
  for (const [id, entry] of orders) {
    if (!ids.has(id)) {
      entry.el.remove();
      orders.delete(id);
    }
  }
  showOrders(list);
  view.highlightNew = true;
}

export function showOrders(list) {
  for (const o of list) render(o);
  placeAll();
}

export function tickAll() {
  for (const entry of orders.values()) tick(entry);
}
