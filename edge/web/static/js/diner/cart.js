// The cart and placing the order safely over bad Wi-Fi: one key per order, made on the phone
// and kept until the hub answers, so a retry, a double tap or a reload never orders twice.
import { $, h, sleep } from "../dom.js";
import { t, nm, joinList, money, onLangChange } from "../i18n.js";
import { call, NO_ANSWER } from "../api.js";
import {
  API, state, on, unitPrice, lineSoldOut, cartSummary, addLine, changeQty, removeLine,
  setLineNote, setCartNote, clearCart, makePending, setSending, sendDone, putOrder,
} from "./state.js";
import { msg, openSheet, showError } from "./ui.js";
import { loadOrders } from "./orders.js";

const SEND_TRIES = 6;
const TRY_TIMEOUT_MS = 15000;

// Into the cart (the bar bumps); false when it could not be added (the diner is told why).
export function addToCart(dish, qty, options, note) {
  const done = addLine(dish, qty, options, note);
  if (done === "pending") msg(t("wait"));
  else if (done === "max_lines") msg(t("maxLines", state.limits.max_lines), "error");
  if (done !== "added") return false;
  const bar = $("cart-bar");
  bar.classList.remove("bump");
  void bar.offsetWidth;
  bar.classList.add("bump");
  return true;
}

function lineEl(l, i, locked) {
  const d = state.dishes.get(l.dish);
  const li = h("li", "line");
  li.dataset.index = String(i);
  const so = lineSoldOut(l);
  li.classList.toggle("sold-out", so);
  const top = h("div", "l-top");
  top.append(h("span", "l-name", nm(d)));
  if (so) top.append(h("span", "so", t("soldOut")));
  top.append(h("span", "l-price", money(unitPrice(d, l.options) * l.qty)));
  li.append(top);
  const opts = (d.options || []).map((o) => {
    const c = o.choices.find((x) => x.id === l.options[o.id]);
    return c ? nm(c) : "";
  }).filter(Boolean);
  if (opts.length) li.append(h("div", "l-opts", joinList(opts)));
  const row = h("div", "l-row");
  const minus = h("button", "qty-minus step", "−");
  const plus = h("button", "qty-plus step", "+");
  const remove = h("button", "remove", t("remove"));
  for (const b of [minus, plus, remove]) b.type = "button";
  minus.disabled = locked || l.qty <= 1;
  plus.disabled = locked || l.qty >= state.limits.max_qty;
  remove.disabled = locked;
  minus.addEventListener("click", () => changeQty(i, -1));
  plus.addEventListener("click", () => changeQty(i, 1));
  remove.addEventListener("click", () => removeLine(i));
  const stepper = h("span", "stepper");
  stepper.append(minus, h("span", "qty", l.qty), plus);
  row.append(stepper, remove);
  li.append(row);
  const note = h("input", "line-note note");
  note.type = "text";
  note.maxLength = state.limits.note_max;
  note.placeholder = t("lineNote");
  note.value = l.note || "";
  note.disabled = locked;
  note.addEventListener("input", () => setLineNote(l, note.value));
  li.append(note);
  return li;
}

export function renderCart() {
  const { known, count, total } = cartSummary();
  const { pending, sending, tableOpen } = state;
  $("cart-count").textContent = String(count);
  $("cart-total").textContent = money(total);
  $("cart-sum").textContent = money(total);
  $("cart-bar").classList.toggle("empty", count === 0);
  const locked = !!pending;
  const focused = document.activeElement;
  const keepNote = focused && focused.classList.contains("line-note") ? focused : null;
  if (!keepNote) {
    const lines = state.cart.lines.map((l, i) => (state.dishes.has(l.dish) ? lineEl(l, i, locked) : null));
    $("cart-lines").replaceChildren(...lines.filter(Boolean));
  }
  $("cart-empty").hidden = count > 0 || locked;
  const note = $("order-note");
  if (document.activeElement !== note) note.value = locked ? pending.body.note || "" : state.cart.note || "";
  note.disabled = locked;
  const soldOut = known.some(lineSoldOut);
  const hint = $("cart-hint");
  hint.hidden = !(soldOut || !tableOpen);
  hint.textContent = !tableOpen ? t("closed") : soldOut ? t("soldOutInCart") : "";
  const btn = $("place-order");
  btn.disabled = sending || (!pending && (count === 0 || soldOut || !tableOpen));
  btn.textContent = sending ? t("sending") : pending ? t("retry") : `${t("place")} · ${money(total)}`;
  btn.classList.toggle("busy", sending);
}

function placeOrder() {
  if (state.sending) return; // a second tap while sending: same order, no new key
  if (!state.pending) {
    const made = makePending();
    if (made === "sold_out") msg(t("soldOutInCart"), "error");
    if (made !== "ready") return;
  }
  sendPending();
}

const answered = (r) => r.status !== NO_ANSWER && r.status < 500 && r.status !== 408;

// Send the pending order until the hub answers (1 s, 2 s, 4 s, 8 s, 8 s apart), same key.
export async function sendPending() {
  if (state.sending || !state.pending || state.invalid) return;
  setSending();
  msg(t("sending"), "", 0);
  const sent = state.pending;
  let r = null;
  for (let i = 0; i < SEND_TRIES; i++) {
    if (i) await sleep(1000 * Math.min(2 ** (i - 1), 8));
    r = await call("POST", `${API}/orders`, sent.body, { timeoutMs: TRY_TIMEOUT_MS });
    if (answered(r)) break;
  }
  sendDone(sent, answered(r));
  if (!answered(r)) {
    msg(t("notConfirmed"), "error", 0); // still pending: "Send again" uses the same key
    return;
  }
  const data = r.data;
  if (r.ok) {
    clearCart();
    if (data && data.id) putOrder(data);
    else loadOrders();
    openSheet("orders-sheet");
    msg(t("placed", data && data.no !== undefined ? data.no : ""), "ok");
    return;
  }
  showError(r.status, data); // refused: nothing was ordered, the cart stays for another try
}

$("order-note").addEventListener("input", () => setCartNote($("order-note").value));
$("place-order").addEventListener("click", placeOrder);
$("cart-bar").addEventListener("click", () => {
  renderCart();
  openSheet("cart");
});

on("cart", renderCart);
on("dishes", renderCart);
on("table", renderCart);
onLangChange(() => { if (state.menu) renderCart(); });
