"use strict";
// The diner's page, opened from the table's QR code (/t/{token}): menu, options, cart,
// placing an order safely over bad Wi-Fi, the table's orders, and calling a waiter.
// Anything the hub or a diner wrote goes in with textContent only.
const TOKEN = decodeURIComponent((location.pathname.split("/t/")[1] || "").split("/")[0]);
const API = `/api/diner/${encodeURIComponent(TOKEN)}`;
const CART_KEY = `smartstore.cart.${TOKEN}`;
const PENDING_KEY = `smartstore.pending.${TOKEN}`;
const LANG_KEY = "smartstore.lang";
const SEND_TRIES = 6;
const TRY_TIMEOUT_MS = 15000;
const CALL_PAUSE_MS = 8000;

const T = {
  zh: {
    title: "点餐", loading: "加载中…", table: (n) => `${n} 桌`, call: "呼叫服务员", bill: "结账",
    myOrders: "我的订单", cart: "购物车", viewCart: "去下单", emptyCart: "购物车是空的",
    orderNote: "整单备注", lineNote: "备注（选填）", total: "合计", qty: "数量",
    place: "下单", sending: "正在提交…", retry: "重新提交", soldOut: "售罄", add: "加入购物车",
    required: "必选", optional: "可选", none: "不需要", choose: (n) => `请选择「${n}」`,
    remove: "删除", close: "关闭", other: "其他", noOrders: "还没有订单",
    closed: "本桌已关闭，请联系服务员",
    accepted: "已接单", done: "已出餐", cancelled: "已取消", voided: "已退",
    printed: "已送厨房", queued: "排队打印", orderNo: (n) => `${n} 号`,
    placed: (n) => `下单成功！订单 ${n} 号`, ready: (n) => `${n} 号订单已出餐`,
    called: "已呼叫服务员，请稍候", billCalled: "已通知结账，服务员马上就来",
    netErr: "网络不稳定，请重试",
    notConfirmed: "网络不稳定，订单还未确认。请点「重新提交」，不会重复下单。",
    loadFail: "菜单加载失败，正在重试…", soldOutInCart: "请先删除售罄的菜品",
    maxLines: (n) => `一次最多 ${n} 种菜品`, badOrder: "订单无效，请刷新页面再试",
    wait: "订单正在提交，请稍候", added: "已加入购物车", failed: "出错了，请重试",
  },
  en: {
    title: "Order", loading: "Loading…", table: (n) => `${n}`, call: "Call waiter", bill: "Request bill",
    myOrders: "My orders", cart: "Cart", viewCart: "View cart", emptyCart: "Your cart is empty",
    orderNote: "Note for the order", lineNote: "Note (optional)", total: "Total", qty: "Quantity",
    place: "Place order", sending: "Sending…", retry: "Send again", soldOut: "Sold out",
    add: "Add to cart", required: "Required", optional: "Optional", none: "None",
    choose: (n) => `Please choose: ${n}`, remove: "Remove", close: "Close", other: "Other",
    noOrders: "No orders yet", closed: "This table is closed, please ask staff",
    accepted: "Accepted", done: "Ready", cancelled: "Cancelled", voided: "Voided",
    printed: "Sent to kitchen", queued: "Waiting for printer", orderNo: (n) => `No. ${n}`,
    placed: (n) => `Order placed! No. ${n}`, ready: (n) => `Order No. ${n} is ready`,
    called: "A waiter is on the way", billCalled: "The bill is on its way",
    netErr: "Network problem, please try again",
    notConfirmed: "Network problem: the order is not confirmed yet. Tap “Send again”; it will not be ordered twice.",
    loadFail: "Could not load the menu, retrying…", soldOutInCart: "Please remove the sold-out dishes first",
    maxLines: (n) => `At most ${n} different dishes per order`,
    badOrder: "The order is not valid, please reload the page",
    wait: "Your order is being sent, please wait", added: "Added to cart", failed: "Something went wrong, please try again",
  },
};
const INVALID = ["二维码无效或已过期，请联系服务员", "This QR code is not valid, please ask staff"];

const $ = (id) => document.getElementById(id);
const store = {
  get(k) {
    try { return JSON.parse(localStorage.getItem(k)); } catch (e) { return null; }
  },
  set(k, v) {
    try {
      if (v === null || v === undefined) localStorage.removeItem(k);
      else localStorage.setItem(k, JSON.stringify(v));
    } catch (e) { /* storage full or off: the page still works, without memory */ }
  },
};

let lang = store.get(LANG_KEY);
if (lang !== "zh" && lang !== "en") lang = /^zh/i.test(navigator.language || "") ? "zh" : "en";
let menu = null;
let menuSig = "";
const dishes = new Map(); // id -> dish
let limits = { max_qty: 50, max_lines: 50, note_max: 140 };
let tableOpen = true;
let cart = store.get(CART_KEY);
if (!cart || !Array.isArray(cart.lines)) cart = { lines: [], note: "" };
let pending = store.get(PENDING_KEY); // {key, body}: sent, answer not yet seen
if (!pending || !pending.key || !pending.body) pending = null;
let sending = false;
let invalid = false;
const orders = new Map(); // id -> OrderPublic
let optDish = null;
let optQty = 1;

function t(key, ...args) {
  const v = T[lang][key];
  return typeof v === "function" ? v(...args) : v;
}
const nm = (o) => (lang === "zh" ? o.name_zh || o.name_en : o.name_en || o.name_zh) || "";
const alt = (o) => (lang === "zh" ? o.name_en : o.name_zh) || "";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let msgTimer = 0;
function msg(text, kind, ms) {
  const m = $("message");
  m.textContent = text;
  m.className = kind || "";
  m.hidden = false;
  clearTimeout(msgTimer);
  if (ms !== 0) msgTimer = setTimeout(() => { m.hidden = true; }, ms || (kind === "error" ? 8000 : 4000));
}

function newKey() {
  const c = window.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  return `k-${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`;
}

// ---- language ----

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  $("lang").textContent = lang === "zh" ? "EN" : "中文";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-ph]")) e.placeholder = t(e.dataset.i18nPh);
  for (const e of document.querySelectorAll("[data-i18n-aria]")) e.setAttribute("aria-label", t(e.dataset.i18nAria));
  document.title = `${t("title")} · smartstore`;
  if (menu) {
    $("table-name").textContent = t("table", menu.table ? menu.table.name : "");
    renderMenu();
    renderCart();
    renderOrders();
    if (optDish && !$("options").hidden) openOptions(optDish.id, true);
  }
}

// ---- menu ----

function optionsSig(d) {
  return JSON.stringify([d.category, d.name_zh, d.name_en, d.desc_zh, d.desc_en, d.price_fen, d.picture, d.options]);
}

async function loadMenu() {
  let res;
  try {
    res = await fetch(`${API}/menu`, { cache: "no-store" });
  } catch (e) {
    res = null;
  }
  if (res && (res.status === 403 || res.status === 404)) {
    showInvalid();
    return false;
  }
  if (!res || !res.ok) return null;
  const data = await res.json().catch(() => null);
  if (!data || !Array.isArray(data.dishes)) return null;
  const sig = JSON.stringify([data.categories, data.dishes.map(optionsSig)]);
  menu = data;
  limits = Object.assign(limits, data.limits || {});
  dishes.clear();
  for (const d of data.dishes) dishes.set(d.id, d);
  $("table-name").textContent = t("table", data.table ? data.table.name : "");
  for (const id of ["opt-note", "order-note"]) $(id).maxLength = limits.note_max;
  if (sig !== menuSig) {
    menuSig = sig;
    renderMenu();
  } else {
    for (const d of dishes.values()) updateDish(d);
  }
  cleanCart();
  setOpen(!data.table || data.table.open !== false);
  return true;
}

async function firstLoad() {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
    const ok = await loadMenu();
    if (ok === false) return;
    if (ok) break;
    const p = h("p", "empty", t("loadFail"));
    $("menu").replaceChildren(p);
    await sleep(wait);
  }
  if (pending) sendPending(); // a tap before a reload may have gone through: ask with its key
  connect();
}

function renderMenu() {
  if (!menu) return;
  const groups = new Map();
  for (const c of menu.categories || []) groups.set(c.id, { cat: c, list: [] });
  for (const d of menu.dishes) {
    if (!groups.has(d.category)) groups.set(d.category, { cat: { id: d.category, name_zh: T.zh.other, name_en: T.en.other }, list: [] });
    groups.get(d.category).list.push(d);
  }
  const sections = [];
  const chips = [];
  for (const { cat, list } of groups.values()) {
    if (!list.length) continue;
    const sec = h("section", "cat");
    sec.dataset.cat = cat.id;
    sec.append(h("h2", null, nm(cat)), ...list.map(dishCard));
    const chip = h("button", "chip", nm(cat));
    chip.type = "button";
    chip.addEventListener("click", () => {
      const y = sec.getBoundingClientRect().top + window.scrollY - $("top").offsetHeight + 1;
      window.scrollTo({ top: y, behavior: "smooth" });
    });
    sections.push(sec);
    chips.push(chip);
  }
  if (!sections.length) sections.push(h("p", "empty", "—"));
  $("menu").replaceChildren(...sections);
  $("cats").replaceChildren(...chips);
  for (const d of dishes.values()) updateDish(d);
  markChip();
}

function dishCard(d) {
  const card = h("article", "dish");
  card.dataset.dish = d.id;
  if (d.picture) {
    const box = h("div", "pic");
    const img = h("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.alt = "";
    img.width = 88;
    img.height = 88;
    img.src = d.picture;
    box.append(img);
    card.append(box);
  }
  const info = h("div", "info");
  info.append(h("h3", "name", nm(d)));
  if (alt(d) && alt(d) !== nm(d)) info.append(h("p", "alt", alt(d)));
  const desc = lang === "zh" ? d.desc_zh || d.desc_en : d.desc_en || d.desc_zh;
  if (desc) info.append(h("p", "desc", desc));
  const buy = h("div", "buy");
  const add = h("button", "add", "+");
  add.type = "button";
  add.setAttribute("aria-label", `${t("add")}: ${nm(d)}`);
  add.addEventListener("click", () => onAdd(d.id));
  buy.append(h("span", "price", money(d.price_fen)), h("span", "so", t("soldOut")), h("span", "in-cart"), add);
  info.append(buy);
  card.append(info);
  return card;
}

function dishEl(id) {
  return document.querySelector(`#menu [data-dish="${CSS.escape(id)}"]`);
}

function updateDish(d) {
  const card = dishEl(d.id);
  if (!card) return;
  card.classList.toggle("sold-out", !!d.sold_out);
  card.querySelector(".add").disabled = !!d.sold_out || !tableOpen;
  const n = cart.lines.reduce((s, l) => s + (l.dish === d.id ? l.qty : 0), 0);
  const badge = card.querySelector(".in-cart");
  badge.textContent = n ? `×${n}` : "";
  badge.hidden = !n;
}

function setSoldOut(ids) {
  const set = new Set(ids);
  for (const d of dishes.values()) {
    const so = set.has(d.id);
    if (so !== !!d.sold_out) {
      d.sold_out = so;
      updateDish(d);
    }
  }
  renderCart();
  if (optDish && !$("options").hidden) $("options-add").disabled = !!optDish.sold_out || !tableOpen;
}

function setOpen(open) {
  const was = tableOpen;
  tableOpen = open;
  $("closed-banner").hidden = open;
  for (const d of dishes.values()) updateDish(d);
  renderCart();
  if (open && !was) loadOrders(); // opened again: a new sitting, a new list
}

function markChip() {
  const secs = document.querySelectorAll("#menu .cat");
  const chips = $("cats").children;
  const edge = $("top").offsetHeight + 8;
  let active = 0;
  secs.forEach((s, i) => { if (s.getBoundingClientRect().top <= edge) active = i; });
  for (let i = 0; i < chips.length; i++) chips[i].classList.toggle("on", i === active);
  const chip = chips[active];
  if (chip) {
    const nav = $("cats");
    if (chip.offsetLeft < nav.scrollLeft || chip.offsetLeft + chip.offsetWidth > nav.scrollLeft + nav.clientWidth)
      nav.scrollLeft = chip.offsetLeft - 12;
  }
}
let scrollQueued = false;
window.addEventListener("scroll", () => {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => { scrollQueued = false; markChip(); });
}, { passive: true });

// ---- sheets ----

function openSheet(id) {
  const cur = document.querySelector(".sheet:not([hidden])");
  if (cur && cur.id !== id) cur.hidden = true;
  $(id).hidden = false;
  $("backdrop").hidden = false;
  document.body.classList.add("noscroll");
  // The phone's back button closes the sheet rather than leaving the page.
  if (history.state && history.state.sheet) history.replaceState({ sheet: id }, "");
  else history.pushState({ sheet: id }, "");
}

function hideSheets() {
  for (const s of document.querySelectorAll(".sheet")) s.hidden = true;
  $("backdrop").hidden = true;
  document.body.classList.remove("noscroll");
}

function closeSheet() {
  hideSheets();
  if (history.state && history.state.sheet) history.back();
}

window.addEventListener("popstate", () => {
  if (!(history.state && history.state.sheet)) hideSheets();
});
if (history.state && history.state.sheet) history.replaceState(null, "");

// ---- options ----

function onAdd(id) {
  const d = dishes.get(id);
  if (!d || d.sold_out || !tableOpen) return;
  if (pending) {
    msg(sending ? t("wait") : t("notConfirmed"), sending ? "" : "error");
    return;
  }
  if (d.options && d.options.length) openOptions(id, false);
  else addLine(id, 1, {}, "");
}

function openOptions(id, keep) {
  const d = dishes.get(id);
  if (!d) return;
  const form = $("options");
  const before = keep ? new FormData(form) : null;
  optDish = d;
  if (!keep) optQty = 1;
  $("opt-title").textContent = nm(d);
  const desc = [alt(d), money(d.price_fen)].filter(Boolean).join(" · ");
  $("opt-desc").textContent = desc;
  const fields = d.options.map((o) => {
    const fs = h("fieldset", "opt");
    fs.dataset.option = o.id;
    const lg = h("legend", null, nm(o));
    lg.append(h("small", o.required ? "req" : null, o.required ? t("required") : t("optional")));
    fs.append(lg);
    const choices = o.required ? o.choices : [{ id: "", name_zh: T.zh.none, name_en: T.en.none, price_fen: 0 }, ...o.choices];
    for (const c of choices) {
      const label = h("label", "choice");
      const input = h("input");
      input.type = "radio";
      input.name = `opt-${o.id}`;
      input.value = c.id;
      if (before ? before.get(input.name) === c.id : !o.required && c.id === "") input.checked = true;
      label.append(input, h("span", null, nm(c)));
      if (c.price_fen) label.append(h("span", "delta", `${c.price_fen > 0 ? "+" : ""}${money(c.price_fen)}`));
      fs.append(label);
    }
    return fs;
  });
  $("opt-fields").replaceChildren(...fields);
  if (!keep) $("opt-note").value = "";
  $("options-add").disabled = !!d.sold_out || !tableOpen;
  updateOptions();
  if (!keep) openSheet("options");
}

function chosen() {
  const form = $("options");
  const out = {};
  for (const o of optDish.options) {
    const v = new FormData(form).get(`opt-${o.id}`);
    if (v) out[o.id] = v;
  }
  return out;
}

function unitPrice(d, opts) {
  let p = d.price_fen || 0;
  for (const o of d.options || []) {
    const c = o.choices.find((x) => x.id === opts[o.id]);
    if (c) p += c.price_fen || 0;
  }
  return p;
}

function updateOptions() {
  if (!optDish) return;
  $("opt-qty").textContent = String(optQty);
  $("opt-minus").disabled = optQty <= 1;
  $("opt-plus").disabled = optQty >= limits.max_qty;
  $("options-add").textContent = `${t("add")} · ${money(unitPrice(optDish, chosen()) * optQty)}`;
  for (const fs of $("opt-fields").children) {
    if (new FormData($("options")).get(`opt-${fs.dataset.option}`)) fs.classList.remove("missing");
  }
}

$("options").addEventListener("change", updateOptions);
$("opt-minus").addEventListener("click", () => { optQty = Math.max(1, optQty - 1); updateOptions(); });
$("opt-plus").addEventListener("click", () => { optQty = Math.min(limits.max_qty, optQty + 1); updateOptions(); });
$("options").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const d = optDish;
  if (!d || d.sold_out || !tableOpen) return;
  const opts = chosen();
  const missing = d.options.filter((o) => o.required && !opts[o.id]);
  if (missing.length) {
    for (const o of missing) {
      const fs = $("opt-fields").querySelector(`[data-option="${CSS.escape(o.id)}"]`);
      if (fs) fs.classList.add("missing");
    }
    msg(t("choose", nm(missing[0])), "error");
    return;
  }
  if (addLine(d.id, optQty, opts, $("opt-note").value)) closeSheet();
});

// ---- cart ----

function saveCart() {
  store.set(CART_KEY, cart);
}

const lineSoldOut = (l) => { const d = dishes.get(l.dish); return !d || !!d.sold_out; };

function cleanCart() {
  // Lines for dishes or choices the menu no longer has are dropped.
  cart.lines = cart.lines.filter((l) => {
    const d = dishes.get(l.dish);
    if (!d || !l.qty) return false;
    l.qty = Math.min(Math.max(1, l.qty | 0), limits.max_qty);
    l.options = l.options || {};
    return Object.entries(l.options).every(([o, c]) => (d.options || []).some((x) => x.id === o && x.choices.some((y) => y.id === c)));
  });
  saveCart();
  renderCart();
}

function addLine(dish, qty, options, note) {
  if (pending) {
    msg(t("wait"));
    return false;
  }
  note = (note || "").trim().slice(0, limits.note_max);
  const sig = JSON.stringify([dish, Object.entries(options).sort(), note]);
  const same = cart.lines.find((l) => JSON.stringify([l.dish, Object.entries(l.options).sort(), l.note || ""]) === sig);
  if (same) same.qty = Math.min(limits.max_qty, same.qty + qty);
  else if (cart.lines.length >= limits.max_lines) {
    msg(t("maxLines", limits.max_lines), "error");
    return false;
  } else cart.lines.push({ dish, qty, options, note });
  saveCart();
  renderCart();
  const bar = $("cart-bar");
  bar.classList.remove("bump");
  void bar.offsetWidth;
  bar.classList.add("bump");
  return true;
}

function lineEl(l, i, locked) {
  const d = dishes.get(l.dish);
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
  if (opts.length) li.append(h("div", "l-opts", opts.join(lang === "zh" ? "、" : ", ")));
  const row = h("div", "l-row");
  const minus = h("button", "qty-minus step", "−");
  const plus = h("button", "qty-plus step", "+");
  const remove = h("button", "remove", t("remove"));
  for (const b of [minus, plus, remove]) b.type = "button";
  minus.disabled = locked || l.qty <= 1;
  plus.disabled = locked || l.qty >= limits.max_qty;
  remove.disabled = locked;
  minus.addEventListener("click", () => changeQty(i, -1));
  plus.addEventListener("click", () => changeQty(i, 1));
  remove.addEventListener("click", () => {
    cart.lines.splice(i, 1);
    saveCart();
    renderCart();
  });
  const stepper = h("span", "stepper");
  stepper.append(minus, h("span", "qty", l.qty), plus);
  row.append(stepper, remove);
  li.append(row);
  const note = h("input", "line-note note");
  note.type = "text";
  note.maxLength = limits.note_max;
  note.placeholder = t("lineNote");
  note.value = l.note || "";
  note.disabled = locked;
  note.addEventListener("input", () => {
    l.note = note.value.slice(0, limits.note_max);
    saveCart();
  });
  li.append(note);
  return li;
}

function changeQty(i, step) {
  const l = cart.lines[i];
  if (!l || pending) return;
  l.qty = Math.min(limits.max_qty, Math.max(1, l.qty + step));
  saveCart();
  renderCart();
}

function renderCart() {
  const known = cart.lines.filter((l) => dishes.has(l.dish));
  const count = known.reduce((s, l) => s + l.qty, 0);
  const total = known.reduce((s, l) => s + unitPrice(dishes.get(l.dish), l.options) * l.qty, 0);
  $("cart-count").textContent = String(count);
  $("cart-total").textContent = money(total);
  $("cart-sum").textContent = money(total);
  $("cart-bar").classList.toggle("empty", count === 0);
  const locked = !!pending;
  const focused = document.activeElement;
  const keepNote = focused && focused.classList.contains("line-note") ? focused : null;
  if (!keepNote) $("cart-lines").replaceChildren(...cart.lines.map((l, i) => (dishes.has(l.dish) ? lineEl(l, i, locked) : null)).filter(Boolean));
  $("cart-empty").hidden = count > 0 || locked;
  const note = $("order-note");
  if (document.activeElement !== note) note.value = locked ? pending.body.note || "" : cart.note || "";
  note.disabled = locked;
  const soldOut = known.some(lineSoldOut);
  const hint = $("cart-hint");
  hint.hidden = !(soldOut || !tableOpen);
  hint.textContent = !tableOpen ? t("closed") : soldOut ? t("soldOutInCart") : "";
  const btn = $("place-order");
  btn.disabled = sending || (!pending && (count === 0 || soldOut || !tableOpen));
  btn.textContent = sending ? t("sending") : pending ? t("retry") : `${t("place")} · ${money(total)}`;
  btn.classList.toggle("busy", sending);
  for (const d of dishes.values()) {
    const card = dishEl(d.id);
    if (!card) continue;
    const n = cart.lines.reduce((s, l) => s + (l.dish === d.id ? l.qty : 0), 0);
    const badge = card.querySelector(".in-cart");
    badge.textContent = n ? `×${n}` : "";
    badge.hidden = !n;
  }
}

$("order-note").addEventListener("input", () => {
  if (pending) return;
  cart.note = $("order-note").value.slice(0, limits.note_max);
  saveCart();
});

// ---- placing the order ----

function placeOrder() {
  if (sending) return; // a second tap while sending: same order, no new key
  if (!pending) {
    const lines = cart.lines.filter((l) => dishes.has(l.dish));
    if (!lines.length || !tableOpen) return;
    if (lines.some(lineSoldOut)) {
      msg(t("soldOutInCart"), "error");
      return;
    }
    const key = newKey();
    pending = {
      key,
      body: {
        key,
        lines: lines.map((l) => ({ dish: l.dish, qty: l.qty, options: l.options, note: (l.note || "").trim() })),
        note: (cart.note || "").trim().slice(0, limits.note_max),
      },
    };
    store.set(PENDING_KEY, pending); // kept until the hub answers: a reload asks again, same key
  }
  sendPending();
}

async function postOnce(body) {
  const ctl = typeof AbortController === "function" ? new AbortController() : null;
  const timer = ctl ? setTimeout(() => ctl.abort(), TRY_TIMEOUT_MS) : 0;
  try {
    return await fetch(`${API}/orders`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: ctl ? ctl.signal : undefined,
    });
  } catch (e) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function sendPending() {
  if (sending || !pending || invalid) return;
  sending = true;
  renderCart();
  msg(t("sending"), "", 0);
  const sent = pending;
  let res = null;
  for (let i = 0; i < SEND_TRIES; i++) {
    if (i) await sleep(1000 * Math.min(2 ** (i - 1), 8)); // 1s, 2s, 4s, 8s, 8s
    res = await postOnce(sent.body);
    if (res && res.status < 500 && res.status !== 408) break;
  }
  sending = false;
  if (!res || res.status >= 500 || res.status === 408) {
    renderCart(); // still pending: "Send again" uses the same key
    msg(t("notConfirmed"), "error", 0);
    return;
  }
  const data = await res.json().catch(() => null);
  if (pending === sent) {
    pending = null;
    store.set(PENDING_KEY, null);
  }
  if (res.ok) {
    cart = { lines: [], note: "" };
    saveCart();
    renderCart();
    if (data && data.id) {
      orders.set(data.id, data);
      renderOrders();
    } else loadOrders();
    openSheet("orders-sheet");
    msg(t("placed", data && data.no !== undefined ? data.no : ""), "ok");
    return;
  }
  renderCart(); // refused: nothing was ordered, the cart stays for another try
  showError(res.status, data);
}

function showError(status, data) {
  const d = data && data.detail;
  if (d && typeof d === "object" && !Array.isArray(d)) {
    if (d.code === "bad_token") return showInvalid();
    if (d.code === "sold_out" && d.dish && dishes.has(d.dish)) {
      dishes.get(d.dish).sold_out = true;
      updateDish(dishes.get(d.dish));
      renderCart();
    }
    if (d.code === "table_closed") setOpen(false);
    msg(d.message || t("failed"), "error");
  } else if (status === 403) showInvalid();
  else msg(status === 422 ? t("badOrder") : typeof d === "string" ? d : t("failed"), "error");
}

$("place-order").addEventListener("click", placeOrder);

// ---- orders ----

async function loadOrders() {
  let res;
  try {
    res = await fetch(`${API}/orders`, { cache: "no-store" });
  } catch (e) {
    return;
  }
  if (res.status === 403) return showInvalid();
  if (!res.ok) return;
  const data = await res.json().catch(() => null);
  if (!data || !Array.isArray(data.orders)) return;
  orders.clear();
  for (const o of data.orders) orders.set(o.id, o);
  renderOrders();
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
    if (opts.length) row.append(h("div", "l-opts", opts.join(lang === "zh" ? "、" : ", ")));
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
  const list = [...orders.values()].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
  $("orders").replaceChildren(...list.map(orderEl));
  $("orders-empty").hidden = list.length > 0;
  const c = $("orders-count");
  c.textContent = String(list.length);
  c.hidden = !list.length;
}

$("orders-btn").addEventListener("click", () => {
  renderOrders();
  openSheet("orders-sheet");
  loadOrders();
});

// ---- calling a waiter ----

async function callWaiter(reason, btn) {
  btn.disabled = true;
  let pause = 2000;
  try {
    const res = await fetch(`${API}/call`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ reason }),
    });
    const data = await res.json().catch(() => null);
    if (res.ok) {
      pause = CALL_PAUSE_MS;
      msg(t(reason === "bill" ? "billCalled" : "called"), "ok");
    } else showError(res.status, data);
  } catch (e) {
    msg(t("netErr"), "error");
  }
  setTimeout(() => { btn.disabled = false; }, pause);
}

$("call-waiter").addEventListener("click", (ev) => callWaiter("service", ev.currentTarget));
$("request-bill").addEventListener("click", (ev) => callWaiter("bill", ev.currentTarget));

// ---- live ----

let ws = null;
let wsRetry = 1000;
let wsTimer = 0;
let wsOpened = false;

function setLive(up) {
  $("live").classList.toggle("up", up);
}

function connect() {
  clearTimeout(wsTimer);
  if (invalid || (ws && ws.readyState <= 1)) return;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let sock;
  try {
    sock = new WebSocket(`${proto}://${location.host}/ws/diner/${encodeURIComponent(TOKEN)}`);
  } catch (e) {
    retryLater();
    return;
  }
  ws = sock;
  sock.onopen = () => {
    wsRetry = 1000;
    setLive(true);
    if (wsOpened) loadMenu(); // missed while away: sold-out marks, table closed
    wsOpened = true;
    loadOrders();
    if (pending && !sending) sendPending();
  };
  sock.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (m.type === "menu" && Array.isArray(m.sold_out)) setSoldOut(m.sold_out);
    else if (m.type === "order" && m.order && m.order.id) {
      const was = orders.get(m.order.id);
      orders.set(m.order.id, m.order);
      renderOrders();
      if (m.order.status === "done" && was && was.status !== "done") msg(t("ready", m.order.no), "ok", 8000);
    } else if (m.type === "table") {
      setOpen(m.open !== false);
      loadMenu(); // a new QR code for this table ends this page: the menu call says so
    } else if (m.type === "config") loadMenu(); // a new menu
  };
  sock.onclose = (ev) => {
    if (ws === sock) ws = null;
    setLive(false);
    if (ev.code === 1008) loadMenu(); // refused: a rotated code shows the "not valid" page
    retryLater();
  };
}

function retryLater() {
  if (invalid) return;
  clearTimeout(wsTimer);
  wsTimer = setTimeout(connect, wsRetry + Math.random() * 500);
  wsRetry = Math.min(wsRetry * 2, 30000);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && menu && !ws) {
    wsRetry = 1000;
    connect();
  }
});
window.addEventListener("online", () => {
  if (!menu) return;
  wsRetry = 1000;
  connect();
  if (pending && !sending) sendPending();
});

function showInvalid() {
  invalid = true;
  clearTimeout(wsTimer);
  if (ws) ws.close();
  const box = h("div", "invalid");
  box.setAttribute("role", "alert");
  box.append(h("p", "zh", INVALID[0]), h("p", "en", INVALID[1]));
  document.body.replaceChildren(box);
  document.body.classList.remove("noscroll");
}

// ---- wiring ----

$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  store.set(LANG_KEY, lang);
  applyLang();
});
$("cart-bar").addEventListener("click", () => {
  renderCart();
  openSheet("cart");
});
$("backdrop").addEventListener("click", closeSheet);
for (const b of document.querySelectorAll("[data-close]")) b.addEventListener("click", closeSheet);

applyLang();
renderCart();
if (TOKEN) firstLoad();
else showInvalid();
