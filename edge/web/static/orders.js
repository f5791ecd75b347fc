"use strict";
// The kitchen/orders page: open orders live from the board's WebSocket, with their print jobs;
// done, void and reprint; the menu's sold-out switches; tables open/close, paid and new QR codes.
const JOB_STATUS = { pending: "待打印 Pending", sending: "打印中 Sending", sent: "已打印 Sent" };
const JOB_KIND = { kitchen: "厨房单 Kitchen", void: "作废单 VOID", receipt: "小票 Receipt" };
const SOURCES = { table: "扫码 Table QR", kiosk: "自助机 Kiosk" };
const METHODS = { cash: "现金 Cash", card: "刷卡 Card", wechat: "微信 WeChat", alipay: "支付宝 Alipay", waived: "免单 Waived" };
const LATE_S = 15 * 60;
const SLOW_S = 8 * 60;
const LOGIN = "/login?next=/orders";

const $ = (id) => document.getElementById(id);
const orders = new Map(); // id -> {order, el}
let soldOut = new Set();
let menu = null;
let clockOffset = 0;
let everOpen = false;
let tablesTimer = 0;

const hubNow = () => Date.now() / 1000 + clockOffset;

const both = (o) => [o.name_zh, o.name_en].filter(Boolean).join(" / ");

function fmtAge(s) {
  s = Math.max(0, Math.floor(s));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}分${s % 60}秒 ${m}m ${s % 60}s` : `${s}秒 ${s}s`;
}

let msgTimer = 0;
function msg(text, kind) {
  const m = $("message");
  m.textContent = text;
  m.className = kind || "error";
  m.hidden = false;
  clearTimeout(msgTimer);
  msgTimer = setTimeout(() => { m.hidden = true; }, kind === "ok" ? 3000 : 8000);
}

function errText(status, data) {
  const d = data && data.detail;
  if (d && typeof d === "object" && !Array.isArray(d) && d.message) return d.message;
  if (typeof d === "string") return d;
  return `出错了 Error (${status})`;
}

// One call to the hub; null when it failed (the failure is already shown).
async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    msg("无法连接集线器 Cannot reach the hub");
    return null;
  }
  if (res.status === 401) {
    location.href = LOGIN;
    return null;
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    msg(errText(res.status, data));
    return null;
  }
  return data || {};
}

// ---- orders ----

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
    const b = h("button", "void", "作废 Void");
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
    if (everOpen) {
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
  a.textContent = fmtAge(age);
  entry.el.classList.toggle("slow", age >= SLOW_S && age < LATE_S);
  entry.el.classList.toggle("late", age >= LATE_S);
}

function placeAll() {
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

// ---- menu: sold out ----

async function loadMenu() {
  const data = await api("GET", "/api/menu");
  if (!data || !Array.isArray(data.dishes)) return;
  menu = data;
  soldOut = new Set(data.dishes.filter((d) => d.sold_out).map((d) => d.id));
  renderMenu();
}

function renderMenu() {
  if (!menu) return;
  const groups = new Map();
  for (const c of menu.categories || []) groups.set(c.id, { cat: c, list: [] });
  for (const d of menu.dishes) {
    if (!groups.has(d.category)) groups.set(d.category, { cat: { id: d.category, name_zh: d.category }, list: [] });
    groups.get(d.category).list.push(d);
  }
  const out = [];
  for (const { cat, list } of groups.values()) {
    if (!list.length) continue;
    const h3 = h("h3", null, both(cat));
    const ul = h("ul", "dishes");
    for (const d of list) {
      const li = h("li", "dish");
      li.dataset.dish = d.id;
      const label = h("label");
      const cb = h("input", "sold-out-toggle");
      cb.type = "checkbox";
      cb.addEventListener("change", () => setSoldOut(d.id, cb));
      const text = h("span", "dname");
      text.append(h("span", null, both(d)), h("small", null, money(d.price_fen)));
      label.append(cb, text, h("span", "state"));
      li.append(label);
      ul.append(li);
    }
    out.push(h3, ul);
  }
  if (!out.length) out.push(h("p", "empty", "菜单是空的 The menu is empty"));
  $("menu").replaceChildren(...out);
  showSoldOut();
}

function showSoldOut() {
  for (const li of document.querySelectorAll("#menu li.dish")) {
    const so = soldOut.has(li.dataset.dish);
    const cb = li.querySelector(".sold-out-toggle");
    if (!cb.disabled) cb.checked = so;
    li.classList.toggle("sold-out", so);
    li.querySelector(".state").textContent = so ? "售罄 Sold out" : "有货 Available";
  }
}

async function setSoldOut(id, cb) {
  const want = cb.checked;
  cb.disabled = true;
  const data = await api("POST", `/api/menu/dishes/${encodeURIComponent(id)}/sold-out`, { sold_out: want });
  cb.disabled = false;
  if (data) {
    if (want) soldOut.add(id);
    else soldOut.delete(id);
  }
  showSoldOut();
}

// ---- tables ----

async function loadTables() {
  const data = await api("GET", "/api/tables");
  if (!data || !Array.isArray(data.tables)) return;
  const ul = $("tables");
  const seen = new Set();
  for (const t of data.tables) {
    seen.add(t.name);
    renderTable(t);
  }
  for (const li of [...ul.children]) if (!seen.has(li.dataset.table)) li.remove();
  if (!ul.childElementCount) ul.append(h("p", "empty", "没有餐桌 No tables"));
}

function renderTable(t) {
  const ul = $("tables");
  let li = [...ul.children].find((x) => x.dataset.table === t.name);
  if (!li) {
    const empty = ul.querySelector(".empty");
    if (empty) empty.remove();
    li = h("li", "tbl");
    li.dataset.table = t.name;
    const buttons = h("div", "tbtns");
    const actions = [["pay", "结账 Paid"], ["open", "开台 Open"], ["close", "关台 Close"], ["rotate", "换二维码 New QR"]];
    for (const [cls, label] of actions) {
      const b = h("button", cls, label);
      b.addEventListener("click", () => tableAction(li, cls, b));
      buttons.append(b);
    }
    const qr = h("a", "tlink", "二维码页 QR page");
    qr.target = "_blank";
    qr.rel = "noopener";
    li.append(h("div", "tname", t.name), h("div", "tstate"), h("div", "tdue"), h("div", "tqr"), qr, buttons);
    ul.append(li);
  }
  li.dataset.id = t.id !== undefined && t.id !== null ? String(t.id) : t.name; // the API's key
  li.dataset.open = String(!!t.open);
  const qr = li.querySelector(".tlink");
  qr.hidden = !(t.qr_path && t.qr_path.startsWith("/"));
  if (!qr.hidden) qr.href = t.qr_path;
  li.classList.toggle("is-open", !!t.open);
  li.querySelector(".tstate").textContent = t.open ? "营业中 Open" : "已关台 Closed";
  li.querySelector(".tqr").textContent = t.qr_version !== undefined ? `二维码 QR v${t.qr_version}` : "";
  const due = Number(t.due_fen) || 0;
  li.dataset.due = String(due);
  // A closed table can still owe: closing stops orders, paying ends the party.
  li.querySelector(".tdue").textContent = due > 0 ? `待付 Due ${money(due)}` : "";
  li.querySelector(".pay").disabled = due <= 0;
  li.querySelector(".open").disabled = !!t.open;
  li.querySelector(".close").disabled = !t.open;
}

// The waiter confirms the amount and picks how the table paid; "" when they cancel.
function askPayment(name, due) {
  const dialog = $("pay-dialog");
  $("pay-title").textContent = `${name} 结账 Paid`;
  $("pay-amount").textContent = money(due);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function payTable(li, button) {
  const name = li.dataset.table;
  const due = Number(li.dataset.due);
  const method = await askPayment(name, due);
  if (!METHODS[method]) return;
  button.disabled = true;
  const paid = await api("POST", `/api/tables/${encodeURIComponent(li.dataset.id || name)}/pay`, {
    method,
    amount_fen: due, // what the waiter just confirmed: refused if the table ordered more since
  });
  loadTables();
  if (paid) msg(`${name} 已结账 Paid ${money(paid.amount_fen)} · ${METHODS[paid.method]}`, "ok");
}

async function tableAction(li, action, button) {
  const name = li.dataset.table;
  if (action === "pay") return payTable(li, button);
  const due = Number(li.dataset.due) || 0;
  // Opening a table that still owes goes on with the same party (its bill stays): a waiter
  // seating new guests must know to take the payment (or waive it) first.
  if (action === "open" && due > 0 && !confirm(
    `${name} 还有 ${money(due)} 未结账：继续同一桌客人？新客人请先点“结账”。\n` +
    `${name} still owes ${money(due)}: the same guests go on? For new guests, use Paid first.`)) return;
  if (action === "rotate" && !confirm(`换 ${name} 的二维码？旧二维码将失效。\nNew QR code for ${name}? The old code stops working.`)) return;
  button.disabled = true;
  const path = action === "rotate" ? "rotate-qr" : action;
  const t = await api("POST", `/api/tables/${encodeURIComponent(li.dataset.id || name)}/${path}`);
  button.disabled = false;
  if (!t) return;
  if (t.name) renderTable(t);
  else loadTables();
  const done = {
    open: `${name} 已开台 Table open`,
    close: `${name} 已关台 Table closed`,
    rotate: `${name} 已换新二维码，请打印新码 New QR code made, print the new one`,
  };
  msg(done[action], "ok");
}

// ---- live ----

function onLive(msg) {
  if (typeof msg.now === "number") clockOffset = msg.now - Date.now() / 1000;
  if (msg.type === "snapshot") {
    if (msg.staff) $("staff").textContent = msg.staff;
    if (Array.isArray(msg.orders)) {
      const ids = new Set(msg.orders.map((o) => o.id));
      for (const [id, entry] of orders) {
        if (!ids.has(id)) {
          entry.el.remove();
          orders.delete(id);
        }
      }
      for (const o of msg.orders) render(o);
      placeAll();
    }
    if (Array.isArray(msg.sold_out)) {
      soldOut = new Set(msg.sold_out);
      showSoldOut();
    }
    if (everOpen) loadTables(); // missed while away
    everOpen = true;
  } else if (msg.type === "orders" && Array.isArray(msg.orders)) {
    for (const o of msg.orders) render(o);
    placeAll();
    // A table's bill changed (an order, a void): its "due" follows within a moment.
    clearTimeout(tablesTimer);
    tablesTimer = setTimeout(loadTables, 300);
  } else if (msg.type === "config") {
    loadMenu(); // a new menu was pushed
  } else if (msg.type === "menu" && Array.isArray(msg.sold_out)) {
    soldOut = new Set(msg.sold_out);
    showSoldOut();
  }
  // calls, devices, seen, commands: the other pages' business
}

$("logout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST" }).catch(() => null);
  location.href = "/login";
});

setInterval(() => {
  for (const entry of orders.values()) tick(entry);
}, 1000);
setInterval(loadTables, 30000);
placeAll();
loadMenu();
loadTables();
followBoard(onLive, LOGIN);
