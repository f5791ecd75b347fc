// The table's orders (live: accepted, printed, ready) and calling staff: a waiter or the bill.
import { $, h } from "../dom.js";
import { t, nm, joinList, money, onLangChange } from "../i18n.js";
import { call, NO_ANSWER } from "../api.js";
import { API, state, on, replaceOrders } from "./state.js";
import { msg, openSheet, showError, showInvalid } from "./ui.js";

const CALL_PAUSE_MS = 8000;

export async function loadOrders() {
  const r = await call("GET", `${API}/orders`);
  if (r.status === 403) return showInvalid();
  if (!r.ok || !r.data || !Array.isArray(r.data.orders)) return;
  replaceOrders(r.data.orders);
}

function hhmm(ts) {
  const d = new Date(ts * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function orderEl(o) {
  const li = h("li", "order");
  li.dataset.order = o.id;
  li.dataset.status = o.status;
  const head = h("div", "o-head");
  const st = h("span", "order-status", t(o.status) || o.status);
  st.dataset.status = o.status;
  head.append(h("span", "order-no", t("orderNo", o.no)), st, h("span", "o-time", o.created_at ? hhmm(o.created_at) : ""));
  li.append(head);
  if (o.status === "accepted") li.append(h("div", `o-print ${o.printed ? "yes" : "wait"}`, t(o.printed ? "printed" : "queued")));
  const ul = h("ul", "o-lines");
  for (const l of o.lines || []) {
    const row = h("li", l.status === "void" ? "void" : "");
    const name = h("span", "l-name");
    name.append(h("span", "q", `${l.qty}×`), h("span", null, nm(l)));
    row.append(name);
    if (l.status === "void") row.append(h("span", "voided", t("voided")));
    row.append(h("span", "l-price", money(l.line_total_fen)));
    const opts = (l.options || []).map(nm).filter(Boolean);
    if (opts.length) row.append(h("div", "l-opts", joinList(opts)));
    if (l.note) row.append(h("div", "l-note", l.note));
    ul.append(row);
  }
  li.append(ul);
  if (o.note) li.append(h("div", "o-note", o.note));
  const sum = h("div", "sum");
  sum.append(h("span", null, t("total")), h("strong", null, money(o.total_fen)));
  li.append(sum);
  return li;
}

function renderOrders() {
  const list = [...state.orders.values()].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
  $("orders").replaceChildren(...list.map(orderEl));
  $("orders-empty").hidden = list.length > 0;
  const c = $("orders-count");
  c.textContent = String(list.length);
  c.hidden = !list.length;
}

async function callStaff(reason, btn) {
  btn.disabled = true;
  let pause = 2000;
  const r = await call("POST", `${API}/call`, { reason });
  if (r.status === NO_ANSWER) msg(t("netErr"), "error");
  else if (r.ok) {
    pause = CALL_PAUSE_MS;
    msg(t(reason === "bill" ? "billCalled" : "called"), "ok");
  } else showError(r.status, r.data);
  setTimeout(() => { btn.disabled = false; }, pause);
}

$("orders-btn").addEventListener("click", () => {
  renderOrders();
  openSheet("orders-sheet");
  loadOrders();
});
$("call-waiter").addEventListener("click", (ev) => callStaff("service", ev.currentTarget));
$("request-bill").addEventListener("click", (ev) => callStaff("bill", ev.currentTarget));

on("orders", renderOrders);
on("table", (open, was) => { if (open && !was) loadOrders(); }); // opened again: a new sitting
onLangChange(() => { if (state.menu) renderOrders(); });
