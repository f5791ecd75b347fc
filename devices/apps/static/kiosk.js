// The kiosk's page: welcome, menu and cart, options, the answer. The agent on this device
// (devices/apps/kiosk.py) holds the MQTT side; this page holds the diner's cart only, and
// forgets it when the diner walks away (idle_timeout_s without a touch).
import { $, connect, el, locate } from "./live.js";
import { makeT, money } from "./kiosk-text.js";

const S = {
  lang: "zh", screen: "welcome", link: false, status: null, config: {}, menu: null,
  dishes: new Map(), cart: [], category: null, order: null, attempt: null,
  member: null, display: null, sheet: null, lastTouch: Date.now(),
  ticket: null, lineAttempt: null, // the line at the door: this diner's number request
};
const LINE_SIZES = 12; // larger parties: "more" on the staff's page
const { t, nm, alt } = makeT(() => S.lang);
const live = connect({ onLink, onMessage });

function onLink(up) { S.link = up; render(); }

function onMessage(msg) {
  switch (msg.type) {
    case "config": S.config = msg; break;
    case "status": S.status = msg; break;
    case "menu": setMenu(msg.menu); break;
    case "member": S.member = msg.code; break;
    case "order": onOrder(msg.order); break;
    case "line": S.ticket = msg.ticket; break;
    case "display": S.display = msg; break;
    case "locate": locate(msg.seconds, S.config.device || ""); return;
    case "reload": location.reload(); return;
    default: return;
  }
  render();
}

function onOrder(order) {
  S.order = order;
  if (!order) return;
  // Ours (this press of "place order"), or one still on its way after the page reloaded.
  if (order.state === "sending" && !S.attempt) S.attempt = order.attempt;
  if (S.attempt && order.attempt === S.attempt) show("result");
}

function setMenu(menu) {
  S.menu = menu;
  S.dishes = new Map((menu ? menu.dishes : []).map((d) => [d.id, d]));
  if (menu && !menu.categories.some((c) => c.id === S.category)) S.category = null;
}

const canOrder = () => S.link && S.status && S.status.can_order;
const unitPrice = (line) => {
  const d = S.dishes.get(line.dish);
  if (!d) return 0;
  let fen = d.price_fen;
  for (const o of d.options) {
    const c = o.choices.find((x) => x.id === line.options[o.id]);
    if (c) fen += c.price_fen;
  }
  return fen;
};

function show(screen) {
  S.screen = screen;
  document.body.dataset.screen = screen;
  render();
}

function reset() {
  S.cart = []; S.sheet = null; S.attempt = null; S.category = null; S.lineAttempt = null;
  live.send({ type: "reset" });
  show("welcome");
}

// --- rendering -----------------------------------------------------------------------------
function render() {
  document.body.dataset.lang = S.lang;
  document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("welcome").hidden = S.screen !== "welcome";
  $("ordering").hidden = S.screen !== "ordering";
  $("result").hidden = S.screen !== "result";
  $("line").hidden = S.screen !== "line";
  const store = (S.menu && S.menu.store_name) || "";
  $("welcome-store").textContent = store;
  $("store").textContent = store;
  $("lang").textContent = t("other");
  for (const b of document.querySelectorAll(".langs button")) b.classList.toggle("on", b.dataset.lang === S.lang);
  const d = S.display;
  $("banner").hidden = !(d && Date.now() - d.at_ms < 600000);
  $("banner").textContent = d ? d.text : "";
  $("away").hidden = canOrder() || S.screen === "result";
  $("away").textContent = "请到前台点餐 / Please order at the counter";
  renderMember();
  if (S.screen === "ordering") { renderCategories(); renderDishes(); renderCart(); }
  if (S.sheet) renderSheet();
  $("options-back").hidden = !S.sheet;
  if (S.screen === "result") renderResult();
  if (S.screen === "line") renderLine();
}

// The line at the door: the party's size, then the number (or why not).
function renderLine() {
  const tk = S.ticket && S.ticket.attempt === S.lineAttempt ? S.ticket : null;
  const state = tk ? tk.state : "choose";
  $("line-box").dataset.state = state;
  $("line-sizes").hidden = state !== "choose";
  $("line-sizes").replaceChildren(...Array.from({ length: LINE_SIZES }, (_, i) =>
    el("button", { "data-size": i + 1, onclick: () => takeNumber(i + 1) }, i + 1)));
  $("line-no").textContent = state === "taken" ? tk.number : "";
  let title = t("howMany"), info = "", slip = "", button = ["back", reset];
  if (state === "sending") { title = t("taking"); button = null; }
  else if (state === "taken") {
    title = t("yourLineNo");
    info = [t("ahead").replace("{n}", tk.ahead),
      tk.est ? t("est").replace("{lo}", tk.est[0]).replace("{hi}", tk.est[1]) : ""].join(" · ");
    slip = tk.printed === true ? t("lineSlip") : tk.printed === false ? t("slipFailed") : "";
    button = ["done", reset];
  } else if (state !== "choose") { title = t("notTaken"); info = tk.message || ""; button = ["ok", reset]; }
  $("line-title").textContent = title;
  $("line-info").textContent = info;
  $("line-slip").textContent = slip;
  $("line-ok").hidden = !button;
  if (button) { $("line-ok").textContent = t(button[0]); $("line-ok").onclick = button[1]; }
}

function takeNumber(size) {
  S.lineAttempt = `q${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  S.ticket = { state: "sending", attempt: S.lineAttempt };
  live.send({ type: "queue_take", attempt: S.lineAttempt, size });
  render();
}

function renderMember() {
  const box = $("member");
  box.hidden = !S.member;
  if (!S.member) return;
  box.replaceChildren(
    el("span", {}, `✓ ${t("member")} ${S.member}`),
    el("button", { onclick: () => live.send({ type: "forget_member" }) }, t("forget")),
  );
}

function renderCategories() {
  if (!S.menu) return $("categories").replaceChildren();
  const tab = (id, label) => el("button", {
    class: S.category === id ? "on" : "", "data-category": id || "all",
    onclick: () => { S.category = id; render(); $("dishes").scrollTop = 0; },
  }, label);
  $("categories").replaceChildren(tab(null, t("catAll")), ...S.menu.categories.map((c) => tab(c.id, nm(c))));
}

function dishCard(d) {
  const pic = el("div", { class: "pic" });
  const initial = d.name_zh.slice(0, 1);
  if (d.picture) pic.append(el("img", { src: d.picture, alt: "", onerror: (e) => e.target.replaceWith(initial) }));
  else pic.textContent = initial;
  return el("article", { class: `dish${d.sold_out ? " sold-out" : ""}`, "data-dish": d.id },
    pic,
    el("div", { class: "info" },
      el("div", { class: "name" }, nm(d)),
      el("div", { class: "alt" }, alt(d)),
      el("div", { class: "row" },
        el("span", { class: "price" }, money(d.price_fen)),
        el("span", { class: "soldout-mark" }, `${TEXT_BOTH.soldOut}`),
        el("button", { class: "add", "aria-label": t("add"), onclick: () => onAdd(d.id) }, "+"))));
}
const TEXT_BOTH = { soldOut: "售罄 Sold out" };

function renderDishes() {
  if (!S.menu) return $("dishes").replaceChildren();
  const cats = S.menu.categories.filter((c) => S.category === null || c.id === S.category);
  const nodes = [];
  for (const c of cats) {
    const dishes = S.menu.dishes.filter((d) => d.category === c.id);
    if (!dishes.length) continue;
    nodes.push(el("h3", { class: "cat-title" }, nm(c)), ...dishes.map(dishCard));
  }
  $("dishes").replaceChildren(...nodes);
}

function renderCart() {
  const lines = S.cart.map((line, i) => {
    const d = S.dishes.get(line.dish);
    const gone = !d || d.sold_out;
    const opts = d ? d.options.map((o) => o.choices.find((c) => c.id === line.options[o.id])).filter(Boolean).map(nm).join(" · ") : "";
    return el("li", { class: gone ? "sold-out" : "", "data-line": line.dish },
      el("div", { class: "what" },
        el("div", {}, d ? nm(d) : line.dish),
        el("div", { class: "opts" }, gone ? t("removeSoldOut") : opts)),
      el("button", { class: "round minus", onclick: () => changeQty(i, -1) }, "−"),
      el("span", { class: "qty-n" }, line.qty),
      el("button", { class: "round plus", disabled: gone, onclick: () => changeQty(i, 1) }, "+"));
  });
  $("cart-lines").replaceChildren(...(lines.length ? lines : [el("li", { class: "empty" }, t("empty"))]));
  $("cart-count").textContent = String(S.cart.reduce((n, l) => n + l.qty, 0));
  $("cart-total").textContent = money(S.cart.reduce((sum, l) => sum + unitPrice(l) * l.qty, 0));
  const blocked = S.cart.some((l) => !S.dishes.get(l.dish) || S.dishes.get(l.dish).sold_out);
  $("place-order").disabled = !S.cart.length || blocked || !canOrder();
}

function renderSheet() {
  const d = S.dishes.get(S.sheet.dish);
  if (!d) { S.sheet = null; return; }
  $("opt-title").textContent = nm(d);
  $("opt-desc").textContent = [alt(d), money(d.price_fen), d.sold_out ? TEXT_BOTH.soldOut : ""].filter(Boolean).join(" · ");
  $("opt-fields").replaceChildren(...d.options.map((o) => {
    const choices = o.required ? o.choices : [{ id: "", name_zh: "不要", name_en: "None", price_fen: 0 }, ...o.choices];
    const missing = o.required && !S.sheet.options[o.id] && S.sheet.tried;
    return el("fieldset", { "data-option": o.id },
      el("legend", {}, nm(o), el("small", { class: o.required ? (missing ? "req missing" : "req") : "" }, o.required ? t("required") : t("optional"))),
      ...choices.map((c) => el("label", { class: "choice" },
        el("input", {
          type: "radio", name: `opt-${o.id}`, value: c.id,
          checked: (S.sheet.options[o.id] || "") === c.id,
          onchange: () => { if (c.id) S.sheet.options[o.id] = c.id; else delete S.sheet.options[o.id]; render(); },
        }),
        el("span", {}, nm(c)),
        c.price_fen ? el("span", { class: "delta" }, `+${money(c.price_fen)}`) : null)));
  }));
  $("opt-qty").textContent = String(S.sheet.qty);
  const line = { dish: d.id, options: S.sheet.options };
  $("options-add").textContent = `${t("add")} ${money(unitPrice(line) * S.sheet.qty)}`;
  $("options-add").disabled = d.sold_out;
}

function renderResult() {
  const o = S.order;
  const box = $("result-box");
  const state = o ? o.state : "sending";
  box.className = `result ${state}`;
  box.dataset.state = state;
  if (state !== "sending") $("order-no").textContent = state === "placed" && o.no !== null ? String(o.no) : "";
  $("order-total").textContent = o && o.total_fen !== null && state === "placed" ? `${t("total")} ${money(o.total_fen)}` : "";
  let title = "", message = "", slip = "", button = null;
  if (state === "sending") {
    const hubAway = !(S.status && S.status.broker && S.status.hub === "online");
    title = hubAway ? t("waitingHub") : t("sending");
    if (!$("order-no").querySelector(".spinner")) $("order-no").replaceChildren(el("div", { class: "spinner" }));
  } else if (state === "placed") {
    title = t("yourNo");
    message = o.late ? t("late") : t("watch");
    slip = o.printed === true ? t("slipTake") : o.printed === false ? t("slipFailed") : "";
    if (o.member_phone) message = `${message} ${t("memberEarns").replace("{phone}", o.member_phone)}`;
    button = ["done", reset];
  } else if (state === "rejected") {
    title = t("rejected");
    message = o.message || o.error || "";
    button = ["back", () => { S.attempt = null; show("ordering"); }];
  } else if (state === "refused") {
    title = t("away");
    message = o.message || "请到前台点餐 / Please order at the counter";
    button = ["back", () => { S.attempt = null; show("ordering"); }];
  } else {
    title = t("notPlaced");
    message = o.message || "";
    button = ["ok", reset];
  }
  $("result-title").textContent = title;
  $("order-message").textContent = message;
  $("order-slip").textContent = slip;
  $("result-ok").hidden = !button;
  if (button) {
    $("result-ok").textContent = t(button[0]);
    $("result-ok").onclick = button[1];
  }
}

// --- actions -------------------------------------------------------------------------------
function onAdd(id) {
  const d = S.dishes.get(id);
  if (!d || d.sold_out) return;
  if (d.options.length) {
    S.sheet = { dish: id, options: {}, qty: 1, tried: false };
    render();
  } else addLine(id, {}, 1);
}

function addLine(dish, options, qty) {
  const key = dish + JSON.stringify(Object.entries(options).sort());
  const same = S.cart.find((l) => l.key === key);
  const max = S.config.max_qty || 50;
  if (same) same.qty = Math.min(max, same.qty + qty);
  else if (S.cart.length < (S.config.max_lines || 30)) S.cart.push({ key, dish, options: { ...options }, qty });
  render();
}

function changeQty(i, delta) {
  const line = S.cart[i];
  if (!line) return;
  line.qty += delta;
  if (line.qty <= 0) S.cart.splice(i, 1);
  line.qty = Math.min(line.qty, S.config.max_qty || 50);
  render();
}

function addFromSheet() {
  const d = S.dishes.get(S.sheet.dish);
  if (!d || d.sold_out) return;
  const missing = d.options.filter((o) => o.required && !S.sheet.options[o.id]);
  if (missing.length) { S.sheet.tried = true; render(); return; }
  const { options, qty } = S.sheet;
  S.sheet = null;
  addLine(d.id, options, qty);
}

function placeOrder() {
  if (!S.cart.length || !canOrder()) return;
  S.attempt = `a${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const lines = S.cart.map((l) => ({ dish: l.dish, qty: l.qty, options: l.options }));
  S.order = { state: "sending", attempt: S.attempt, no: null, total_fen: null };
  live.send({ type: "place", attempt: S.attempt, lines });
  show("result");
}

// --- wiring --------------------------------------------------------------------------------
$("start").onclick = () => show("ordering");
$("take-number").onclick = () => { S.lineAttempt = null; show("line"); };
for (const b of document.querySelectorAll(".langs button")) b.onclick = () => { S.lang = b.dataset.lang; render(); };
$("lang").onclick = () => { S.lang = S.lang === "zh" ? "en" : "zh"; render(); };
$("start-over").onclick = reset;
$("place-order").onclick = placeOrder;
$("options-add").onclick = addFromSheet;
$("options-cancel").onclick = () => { S.sheet = null; render(); };
$("opt-minus").onclick = () => { S.sheet.qty = Math.max(1, S.sheet.qty - 1); render(); };
$("opt-plus").onclick = () => { S.sheet.qty = Math.min(S.config.max_qty || 50, S.sheet.qty + 1); render(); };

// Idle: a diner who walks away leaves nothing behind for the next one. Not while an order is
// on its way: its answer must be seen.
for (const ev of ["pointerdown", "keydown", "touchstart"]) {
  addEventListener(ev, () => { S.lastTouch = Date.now(); }, { capture: true, passive: true });
}
setInterval(() => {
  const idleMs = (S.config.idle_timeout_s || 90) * 1000;
  const sending = (S.screen === "result" && S.order && S.order.state === "sending")
    || (S.screen === "line" && S.ticket && S.ticket.state === "sending");
  if (S.screen !== "welcome" && !sending && Date.now() - S.lastTouch > idleMs) reset();
  if (S.screen === "result" && sending) renderResult();
}, 500);
render();
