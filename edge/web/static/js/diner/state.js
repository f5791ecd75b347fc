// The diner page's state: one object, changed only here. Every change is announced (on) so
// each part of the page redraws itself. The cart and an order sent but not yet confirmed are
// kept on the phone: a reload or a lost tab keeps them, and asks again with the same key.
import { saved } from "../dom.js";

export const TOKEN = decodeURIComponent((location.pathname.split("/t/")[1] || "").split("/")[0]);
export const API = `/api/diner/${encodeURIComponent(TOKEN)}`;
const CART_KEY = `smartstore.cart.${TOKEN}`;
const PENDING_KEY = `smartstore.pending.${TOKEN}`;
const SIGN_IN_KEY = `smartstore.signin.${TOKEN}`;

let storedCart = saved.get(CART_KEY);
if (!storedCart || !Array.isArray(storedCart.lines)) storedCart = { lines: [], note: "" };
let storedPending = saved.get(PENDING_KEY);
if (!storedPending || !storedPending.key || !storedPending.body) storedPending = null;
let storedSignIn = saved.get(SIGN_IN_KEY);
if (!storedSignIn || typeof storedSignIn.id !== "string") storedSignIn = null;

const s = {
  menu: null, // the hub's menu for this table, as last loaded
  menuSig: "", // what the menu's cards were drawn from
  dishes: new Map(), // id -> dish
  limits: { max_qty: 50, max_lines: 50, note_max: 140 },
  tableOpen: true,
  cart: storedCart, // {lines: [{dish, qty, options, note}], note}
  pending: storedPending, // {key, body}: sent, the hub's answer not yet seen
  sending: false,
  invalid: false, // the QR code is not (or no longer) valid: the page is over
  orders: new Map(), // id -> OrderPublic
  member: null, // the hub's answer for this phone: {enabled, member (null: not signed in), popular, privacy}
  signIn: storedSignIn, // {id}: asked to sign in, a waiter has not decided yet
};

// Read anywhere (state.cart), written only by the functions below.
export const state = {};
for (const k of Object.keys(s)) Object.defineProperty(state, k, { get: () => s[k], enumerable: true });
Object.freeze(state);

// ---- changes announced ----
// "cart" (lines, note, pending, sending), "dishes" (the dishes whose sold-out mark changed),
// "table" (open, wasOpen), "orders", "invalid", "member" (the membership or the sign-in request).
const subscribers = new Map();
export function on(topic, fn) {
  if (!subscribers.has(topic)) subscribers.set(topic, []);
  subscribers.get(topic).push(fn);
}
function emit(topic, ...args) {
  for (const fn of subscribers.get(topic) || []) fn(...args);
}

// ---- the menu ----

const optionsSig = (d) =>
  JSON.stringify([d.category, d.name_zh, d.name_en, d.desc_zh, d.desc_en, d.price_fen, d.picture, d.options]);

// A menu from the hub; true when its cards must be drawn again (not only sold-out marks).
export function setMenu(data) {
  const sig = JSON.stringify([data.categories, data.dishes.map(optionsSig)]);
  s.menu = data;
  Object.assign(s.limits, data.limits || {});
  s.dishes.clear();
  for (const d of data.dishes) s.dishes.set(d.id, d);
  const changed = sig !== s.menuSig;
  s.menuSig = sig;
  return changed;
}

export function setSoldOut(ids) {
  const set = new Set(ids);
  const changed = [];
  for (const d of s.dishes.values()) {
    const so = set.has(d.id);
    if (so !== !!d.sold_out) {
      d.sold_out = so;
      changed.push(d);
    }
  }
  emit("dishes", changed);
}

export function markSoldOut(id) {
  const d = s.dishes.get(id);
  if (!d) return;
  d.sold_out = true;
  emit("dishes", [d]);
}

export function setTableOpen(open) {
  const was = s.tableOpen;
  s.tableOpen = open;
  emit("table", open, was);
}

export function markInvalid() {
  s.invalid = true;
  emit("invalid");
}

// ---- the cart ----

export function unitPrice(d, opts) {
  let p = d.price_fen || 0;
  for (const o of d.options || []) {
    const c = o.choices.find((x) => x.id === opts[o.id]);
    if (c) p += c.price_fen || 0;
  }
  return p;
}

export const lineSoldOut = (l) => {
  const d = s.dishes.get(l.dish);
  return !d || !!d.sold_out;
};

export const inCart = (dishId) => s.cart.lines.reduce((n, l) => n + (l.dish === dishId ? l.qty : 0), 0);

// The lines the menu knows, how many dishes and what they cost.
export function cartSummary() {
  const known = s.cart.lines.filter((l) => s.dishes.has(l.dish));
  const count = known.reduce((n, l) => n + l.qty, 0);
  const total = known.reduce((n, l) => n + unitPrice(s.dishes.get(l.dish), l.options) * l.qty, 0);
  return { known, count, total };
}

function saveCart(announce = true) {
  saved.set(CART_KEY, s.cart);
  if (announce) emit("cart");
}

// Lines for dishes or choices the menu no longer has are dropped.
export function cleanCart() {
  s.cart.lines = s.cart.lines.filter((l) => {
    const d = s.dishes.get(l.dish);
    if (!d || !l.qty) return false;
    l.qty = Math.min(Math.max(1, l.qty | 0), s.limits.max_qty);
    l.options = l.options || {};
    return Object.entries(l.options).every(([o, c]) => (d.options || []).some((x) => x.id === o && x.choices.some((y) => y.id === c)));
  });
  saveCart();
}

// "added", or why not: "pending" (an order is on its way), "max_lines".
export function addLine(dish, qty, options, note) {
  if (s.pending) return "pending";
  note = (note || "").trim().slice(0, s.limits.note_max);
  const sig = JSON.stringify([dish, Object.entries(options).sort(), note]);
  const same = s.cart.lines.find((l) => JSON.stringify([l.dish, Object.entries(l.options).sort(), l.note || ""]) === sig);
  if (same) same.qty = Math.min(s.limits.max_qty, same.qty + qty);
  else if (s.cart.lines.length >= s.limits.max_lines) return "max_lines";
  else s.cart.lines.push({ dish, qty, options, note });
  saveCart();
  return "added";
}

export function changeQty(i, step) {
  const l = s.cart.lines[i];
  if (!l || s.pending) return;
  l.qty = Math.min(s.limits.max_qty, Math.max(1, l.qty + step));
  saveCart();
}

export function removeLine(i) {
  s.cart.lines.splice(i, 1);
  saveCart();
}

// Typing: kept, not redrawn under the diner's fingers.
export function setLineNote(line, text) {
  line.note = text.slice(0, s.limits.note_max);
  saveCart(false);
}

export function setCartNote(text) {
  if (s.pending) return;
  s.cart.note = text.slice(0, s.limits.note_max);
  saveCart(false);
}

export function clearCart() {
  s.cart = { lines: [], note: "" };
  saveCart();
}

// ---- the order on its way ----

function newKey() {
  const c = window.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  return `k-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

// The cart becomes the order to send, with its key: "ready", "empty" or "sold_out".
export function makePending() {
  const lines = s.cart.lines.filter((l) => s.dishes.has(l.dish));
  if (!lines.length || !s.tableOpen) return "empty";
  if (lines.some(lineSoldOut)) return "sold_out";
  const key = newKey();
  s.pending = {
    key,
    body: {
      key,
      lines: lines.map((l) => ({ dish: l.dish, qty: l.qty, options: l.options, note: (l.note || "").trim() })),
      note: (s.cart.note || "").trim().slice(0, s.limits.note_max),
    },
  };
  saved.set(PENDING_KEY, s.pending); // kept until the hub answers: a reload asks again, same key
  emit("cart");
  return "ready";
}

export function setSending() {
  s.sending = true;
  emit("cart");
}

// Sending is over; answered: the hub said yes or no, so that order is no longer pending.
export function sendDone(sent, answered) {
  s.sending = false;
  if (answered && s.pending === sent) {
    s.pending = null;
    saved.set(PENDING_KEY, null);
  }
  emit("cart");
}

// ---- the table's orders ----

// The order as the hub sees it now; returns what the page knew before.
export function putOrder(order) {
  const was = s.orders.get(order.id);
  s.orders.set(order.id, order);
  emit("orders");
  return was;
}

export function replaceOrders(list) {
  s.orders.clear();
  for (const o of list) s.orders.set(o.id, o);
  emit("orders");
}

// ---- the member on this phone ----

export function setMember(data) {
  s.member = data;
  emit("member");
}

// A sign-in request to follow until a waiter decides (kept: a reload goes on asking); null: over.
export function setSignIn(req) {
  s.signIn = req;
  saved.set(SIGN_IN_KEY, req);
  emit("member");
}
