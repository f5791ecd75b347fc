// The tables: open, close, a new QR code, and the payment (pay.js: the bill with its member,
// the amount due and how the party paid; refused if the table ordered more meanwhile).
import { $, h } from "../dom.js";
import { money } from "../i18n.js";
import { api, msg } from "./hub.js";
import { METHODS, askPayment } from "./pay.js";

export async function loadTables() {
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
      const b = h("button", cls === "rotate" ? "rotate manager-only" : cls, label);
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

async function payTable(li, button) {
  const name = li.dataset.table;
  button.disabled = true;
  const paid = await askPayment({ id: li.dataset.id || name, name });
  loadTables();
  if (!paid) return;
  const parts = [`${name} 已结账 Paid ${money(paid.amount_fen)} · ${METHODS[paid.method] || paid.method}`];
  if (paid.coupon_off_fen) parts.push(`券 Coupon −${money(paid.coupon_off_fen)}`);
  if (paid.points_used) parts.push(`积分 Points ${paid.points_used} −${money(paid.points_off_fen)}`);
  if (paid.member) parts.push(`会员得 Member earned ${paid.points_earned || 0}`);
  msg(parts.join(" · "), "ok");
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

// A table's bill changed (an order, a void): its "due" follows within a moment.
let soonTimer = 0;
export function loadTablesSoon() {
  clearTimeout(soonTimer);
  soonTimer = setTimeout(loadTables, 300);
}
