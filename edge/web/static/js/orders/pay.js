// The payment dialog: the table's bill as the hub prices it (GET /api/tables/{id}/bill), with
// its member: one usable coupon, points up to what the bill and the member allow, the amount to
// take worked out as the waiter chooses, a member code scanned at the bill. The payment names the
// gross the waiter saw (refused if the table ordered more since). Refusals stay in the dialog,
// with the bill asked again, so the waiter reads why and goes on.
import { $, h } from "../dom.js";
import { BOTH, both, money } from "../i18n.js";
import { call, errorText, NO_ANSWER } from "../api.js";
import { LOGIN } from "./hub.js";

export const METHODS = { cash: "现金 Cash", card: "刷卡 Card", wechat: "微信 WeChat", alipay: "支付宝 Alipay", waived: "免单 Waived" };
const REFUSALS = {
  below_minimum: (c) => `未满 ${money(c.min_spend_fen)} Below the ${money(c.min_spend_fen)} minimum`,
  not_here: () => "本店不可用 Not valid in this store",
  dish_not_ordered: () => "未点该菜 The dish is not on the bill",
};

const dialog = $("pay-dialog");
// busy: waiting for the hub; paying: a payment on its way (the dialog cannot be closed then).
const pay = { table: null, bill: null, coupon: "", busy: false, paying: false, done: null };

async function hub(method, path, body) {
  const r = await call(method, path, body, { login: LOGIN, timeoutMs: 20000 });
  if (r.ok) return { data: r.data || {} };
  if (r.status === 401) return { error: "" }; // off to the login page
  return { error: r.status === NO_ANSWER ? BOTH.unreachable : errorText(r.status, r.data) };
}

const path = (what) => `/api/tables/${encodeURIComponent(pay.table.id)}/${what}`;

function showError(text) {
  $("pay-error").textContent = text || "";
  $("pay-error").hidden = !text;
}

function setBusy(busy) {
  pay.busy = busy;
  for (const b of dialog.querySelectorAll(".pay-methods button, .pay-waived")) b.disabled = busy || !pay.bill;
  $("pay-code-btn").disabled = busy || !pay.bill;
  $("pm-adjust-btn").disabled = busy || !pay.bill;
}

const member = () => (pay.bill && pay.bill.member) || null;

function chosenCoupon() {
  const m = member();
  return (m && m.coupons.find((c) => c.code === pay.coupon && !c.refused)) || null;
}

// Points pay at most redeem_cap_pct of what is left after the coupon, and at most what the
// member may spend here now (offline: the store's allowance).
function pointsLimit(m) {
  const c = chosenCoupon();
  const left = pay.bill.gross_fen - (c ? c.off_fen : 0);
  const cap = typeof m.redeem_cap_pct === "number"
    ? Math.floor((left * m.redeem_cap_pct) / (100 * (m.point_value_fen || 1)))
    : m.max_points || 0;
  return Math.max(0, Math.min(cap, m.spendable || 0));
}

// The points box for the coupon chosen: its limit, what is typed brought within it.
function renderPointsBox() {
  const m = member();
  if (!m) return;
  const limit = pointsLimit(m);
  const input = $("pm-points-in");
  input.max = String(limit);
  if (Number(input.value) > limit) input.value = String(limit);
  $("pm-use-points").hidden = limit <= 0;
  $("pm-no-points").hidden = limit > 0;
  $("pm-points-max").textContent = `最多 At most ${limit}（1 积分 point = ${money(m.point_value_fen || 1)}）`;
}

function chosenPoints() {
  const m = member();
  if (!m) return 0;
  const n = Math.floor(Number($("pm-points-in").value) || 0);
  return Math.max(0, Math.min(n, pointsLimit(m)));
}

// What the waiter takes: the bill, less the coupon, less the points (never below nothing).
function renderAmount() {
  if (!pay.bill) return;
  const gross = pay.bill.gross_fen;
  const c = chosenCoupon();
  const m = member();
  const points = chosenPoints();
  const couponOff = c ? c.off_fen : 0;
  const pointsOff = m ? points * (m.point_value_fen || 1) : 0;
  $("pay-amount").textContent = money(Math.max(0, gross - couponOff - pointsOff));
  const parts = [];
  if (c) parts.push(`券 Coupon −${money(couponOff)}`);
  if (points) parts.push(`积分 Points ${points} −${money(pointsOff)}`);
  $("pay-breakdown").textContent = parts.length ? `${money(gross)} · ${parts.join(" · ")}` : "";
  $("pay-breakdown").hidden = !parts.length;
}

function couponEl(c) {
  const label = h("label", c.refused ? "pm-coupon refused" : "pm-coupon");
  label.dataset.coupon = c.code;
  const input = h("input");
  input.type = "radio";
  input.name = "pay-coupon";
  input.value = c.code;
  input.disabled = !!c.refused;
  input.checked = !c.refused && pay.coupon === c.code;
  label.append(input, h("span", "cname", both(c)), h("span", "coff", c.refused ? money(0) : `−${money(c.off_fen)}`));
  if (c.refused) label.append(h("span", "why", (REFUSALS[c.refused] || (() => c.refused))(c)));
  return label;
}

function renderBill() {
  const b = pay.bill;
  $("pay-loading").hidden = !!b;
  $("pay-bill").hidden = !b;
  if (!b) return;
  $("pay-gross").textContent = money(b.gross_fen);
  const m = b.member;
  $("pay-member").hidden = !m;
  $("pay-no-member").hidden = !!m;
  if (m) {
    $("pm-phone").textContent = m.phone;
    const level = $("pm-level");
    level.textContent = both(m.level || {});
    level.dataset.level = m.level ? m.level.id : "";
    $("pm-offline").hidden = !!m.online;
    $("pm-offline-note").hidden = !!m.online;
    $("pm-points").textContent = `积分 Points ${m.points} · 可用 Spendable ${m.spendable}`;
    if (!m.coupons.some((c) => c.code === pay.coupon && !c.refused)) pay.coupon = "";
    const none = h("label", "pm-coupon");
    const noneInput = h("input");
    noneInput.type = "radio";
    noneInput.name = "pay-coupon";
    noneInput.value = "";
    noneInput.checked = !pay.coupon;
    none.append(noneInput, h("span", "cname", m.coupons.length ? "不用券 No coupon" : "没有优惠券 No coupons"));
    const fs = $("pm-coupons");
    fs.replaceChildren(fs.querySelector("legend"), none, ...m.coupons.map(couponEl));
    renderPointsBox();
  }
  $("pm-adjust").hidden = !(m && m.can_adjust); // a manager's: a waiter never sees it
  renderAmount();
}

async function loadBill() {
  const r = await hub("GET", path("bill"));
  if (!dialog.open) return;
  if (r.error !== undefined) {
    if (!pay.bill) $("pay-loading").textContent = "";
    showError(r.error);
  } else pay.bill = r.data;
  renderBill();
  setBusy(false);
}

async function takePayment(method) {
  if (pay.busy || !pay.bill || !METHODS[method]) return;
  const waived = method === "waived";
  const body = {
    method,
    amount_fen: pay.bill.gross_fen, // what the waiter saw: refused if the table ordered more since
    coupon: waived ? null : (chosenCoupon() || {}).code || null,
    points: waived ? 0 : chosenPoints(),
  };
  showError("");
  setBusy(true);
  pay.paying = true;
  dialog.querySelector(".pay-cancel").disabled = true;
  const r = await hub("POST", path("pay"), body);
  pay.paying = false;
  dialog.querySelector(".pay-cancel").disabled = false;
  if (r.error === undefined) {
    const done = pay.done;
    pay.done = null;
    dialog.close();
    if (done) done(r.data);
    return;
  }
  showError(r.error);
  await loadBill(); // the bill as it is now (more ordered, a coupon used elsewhere, points spent)
}

async function attachMember() {
  const code = $("pay-code").value.trim();
  if (pay.busy || !pay.bill || !code) return;
  showError("");
  setBusy(true);
  const r = await hub("POST", path("member"), { code });
  if (r.error !== undefined) {
    showError(r.error);
    setBusy(false);
    return;
  }
  $("pay-code").value = "";
  await loadBill();
}

// A manager corrects the member's points with a reason (the hub keeps it in the ledger with
// the manager's name and sends it to HQ); the bill is asked again for the new balance.
async function adjustPoints() {
  const m = member();
  if (pay.busy || !m || !m.can_adjust) return;
  const raw = $("pm-adjust-points").value.trim();
  const points = Number(raw);
  const reason = $("pm-adjust-reason").value.trim();
  $("pm-adjust-done").hidden = true;
  if (!raw || !Number.isInteger(points) || points === 0) {
    showError("请输入要加（+）或扣（−）的积分 Enter the points to add (+) or take (−)");
    return;
  }
  if (!reason) {
    showError("请写明调整原因 Say why the points change");
    return;
  }
  showError("");
  setBusy(true);
  const r = await hub("POST", `/api/members/${encodeURIComponent(m.id)}/adjust`, { points, reason });
  if (r.error !== undefined) {
    showError(r.error);
    setBusy(false);
    return;
  }
  $("pm-adjust-points").value = "";
  $("pm-adjust-reason").value = "";
  const done = $("pm-adjust-done");
  done.textContent = `已调整 Adjusted ${points > 0 ? "+" : ""}${points} · 余额 Balance ${r.data.points}`;
  done.hidden = false;
  await loadBill();
}

// The dialog for a table; resolves with the payment, or null when the waiter cancels.
export function askPayment(table) {
  pay.table = table;
  pay.bill = null;
  pay.coupon = "";
  $("pm-points-in").value = "0";
  $("pay-code").value = "";
  $("pm-adjust").open = false;
  $("pm-adjust-points").value = "";
  $("pm-adjust-reason").value = "";
  $("pm-adjust-done").hidden = true;
  $("pay-title").textContent = `${table.name} 结账 Paid`;
  $("pay-loading").textContent = "加载账单… Loading the bill…";
  $("pay-amount").textContent = "";
  showError("");
  renderBill();
  setBusy(true);
  return new Promise((resolve) => {
    pay.done = resolve;
    dialog.addEventListener("close", () => {
      if (pay.done === resolve) resolve(null);
      pay.done = null;
    }, { once: true });
    dialog.showModal();
    loadBill();
  });
}

$("pay-form").addEventListener("submit", (ev) => {
  ev.preventDefault(); // Enter in the code box (a scanner ends with it) adds the member
  attachMember();
});
for (const b of dialog.querySelectorAll(".pay-methods button, .pay-waived")) {
  b.addEventListener("click", () => takePayment(b.value));
}
dialog.querySelector(".pay-cancel").addEventListener("click", () => dialog.close());
dialog.addEventListener("cancel", (ev) => { if (pay.paying) ev.preventDefault(); }); // Esc mid-payment
$("pm-coupons").addEventListener("change", (ev) => {
  if (ev.target.name !== "pay-coupon") return;
  pay.coupon = ev.target.value;
  renderPointsBox(); // the coupon changes what points may pay
  renderAmount();
});
$("pm-points-in").addEventListener("input", renderAmount);
$("pm-adjust-btn").addEventListener("click", adjustPoints);
for (const id of ["pm-adjust-points", "pm-adjust-reason"]) {
  $(id).addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault(); // not the form's submit: that adds a member by code
    adjustPoints();
  });
}
$("pm-points-in").addEventListener("change", () => {
  $("pm-points-in").value = String(chosenPoints()); // typed past the limit: the limit
  renderAmount();
});
