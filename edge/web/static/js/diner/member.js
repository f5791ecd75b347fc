// The member tab: join (only with consent to the privacy statement), sign in on a new phone (a
// waiter confirms at the table: the page follows the request until they decide), and for a
// member their level, points, coupons, usual dishes, points history and the member code, a QR
// image the hub draws (no QR library on the phone), renewed as each minute turns. The same
// answer fills the row above the menu ("your usual", "popular here now"), so it is asked once
// as the menu arrives and again when the tab opens; the member code is asked only while the tab
// is on screen.
import { $, h } from "../dom.js";
import { t, nm, money, onLangChange } from "../i18n.js";
import { call, NO_ANSWER } from "../api.js";
import { API, state, on, setMember, setSignIn } from "./state.js";
import { msg, openSheet, showError, showInvalid } from "./ui.js";
import { onAdd } from "./options.js";

const POLL_MS = 2500; // a waiting sign-in is asked after (the live message is faster)
const CODE_RETRY_MS = 5000;

const signedIn = () => !!(state.member && state.member.member);

// ---- loading: one call at a time, once more if asked meanwhile (a payment while loading) ----

let loading = false;
let loadAgain = false;

export async function loadMember() {
  if (loading) {
    loadAgain = true;
    return;
  }
  loading = true;
  do {
    loadAgain = false;
    const r = await call("GET", `${API}/member`);
    if (r.ok && r.data) setMember(r.data);
    else if (r.status === 403) showInvalid();
    else if (!state.member) $("member-loading").textContent = r.status === NO_ANSWER ? t("netErr") : t("failed");
  } while (loadAgain);
  loading = false;
}

// The hub said no: its own words (both languages), else ours.
function refused(r) {
  const d = r.data && r.data.detail;
  if (r.status === NO_ANSWER) msg(t("netErr"), "error");
  else if (Array.isArray(d)) msg(t("failed"), "error"); // the form was not as the hub expects
  else showError(r.status, r.data);
}

// ---- what the tab shows ----

const two = (n) => String(n).padStart(2, "0");
function day(ts) {
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}
function when(ts) {
  const d = new Date(ts * 1000);
  return `${day(ts)} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

function couponValue(c) {
  if (c.kind === "percent_off") {
    const pct = t("couponPct", c.percent || 0);
    return c.cap_fen ? `${pct} (${t("couponCap", money(c.cap_fen))})` : pct;
  }
  if (c.kind === "free_dish") {
    const d = state.dishes.get(c.dish);
    return t("couponFree", d ? nm(d) : c.dish || "");
  }
  return t("couponOff", money(c.value_fen));
}

function couponEl(c) {
  const li = h("li", "coupon");
  li.dataset.coupon = c.code;
  const terms = [c.min_spend_fen ? t("minSpend", money(c.min_spend_fen)) : t("noMin")];
  if (c.valid_until) terms.push(t("validUntil", day(c.valid_until)));
  li.append(h("span", "c-name", nm(c)), h("span", "c-value", couponValue(c)), h("span", "c-terms", terms.join(" · ")));
  return li;
}

function historyEl(e) {
  const li = h("li", "entry");
  li.dataset.cause = e.cause;
  const causes = t("causes") || {};
  const pts = h("span", `h-points ${e.points > 0 ? "plus" : "minus"}`, e.points > 0 ? `+${e.points}` : String(e.points));
  li.append(h("span", "c-name", causes[e.cause] || e.cause), pts, h("span", "h-when", e.at ? when(e.at) : ""));
  return li;
}

// Dish buttons (names from the menu the page has; a dish it no longer has is left out).
function dishButtons(ids) {
  const out = [];
  for (const id of ids || []) {
    const d = state.dishes.get(id);
    if (!d) continue;
    const b = h("button", "m-dish", nm(d));
    b.type = "button";
    b.dataset.rec = id; // not data-dish: that is the menu's own card for the dish
    b.disabled = !!d.sold_out || !state.tableOpen;
    b.addEventListener("click", () => {
      const simple = !(d.options && d.options.length);
      onAdd(id);
      if (simple && !state.pending) msg(t("added"), "ok");
    });
    out.push(b);
  }
  return out;
}

// The row at the top of the menu: the tab's two lists, from the same answer.
function renderRecs() {
  const data = state.member;
  const me = data && data.member;
  const usual = dishButtons(me ? me.usual : []);
  const popular = dishButtons(data ? data.popular : []);
  $("recs-usual").replaceChildren(...usual);
  $("recs-usual-box").hidden = !usual.length;
  $("recs-popular").replaceChildren(...popular);
  $("recs-popular-box").hidden = !popular.length;
  $("recs").hidden = !usual.length && !popular.length;
}

function render() {
  renderRecs();
  const data = state.member;
  const me = data && data.member;
  const waiting = !!state.signIn;
  $("member-loading").hidden = !!data;
  $("member-off").hidden = !(data && !data.enabled);
  $("member-out").hidden = !data || !data.enabled || !!me;
  $("member-in").hidden = !me;
  $("sign-out").hidden = !me;
  $("join-form").hidden = waiting;
  $("signin-form").hidden = waiting;
  $("signin-wait").hidden = !waiting;
  $("signin-number").textContent = waiting ? state.signIn.phone || "" : "";
  const popular = dishButtons(data ? data.popular : []);
  $("m-popular").replaceChildren(...popular);
  $("m-popular-box").hidden = !popular.length;
  $("m-code").alt = t("codeAlt");
  if (!me) return;
  const level = $("m-level");
  level.textContent = nm(me.level || {});
  level.dataset.level = me.level ? me.level.id : "";
  $("m-phone").textContent = me.phone || "";
  $("m-points").textContent = t("points", me.points || 0);
  $("m-offline").hidden = !me.offline;
  const coupons = (me.coupons || []).map(couponEl);
  if (!coupons.length) coupons.push(h("li", "empty", t("noCoupons")));
  $("m-coupons").replaceChildren(...coupons);
  const usual = dishButtons(me.usual);
  $("m-usual").replaceChildren(...usual);
  $("m-usual-box").hidden = !usual.length;
  const history = (me.history || []).map(historyEl);
  $("m-history").replaceChildren(...history);
  $("m-history-box").hidden = !history.length;
}

// ---- the member code: a new image as each minute turns, while the tab is on screen ----

let codeTimer = 0;
let codeShownFor = ""; // the member whose code the image shows

const codeOnScreen = () => signedIn() && !$("member-sheet").hidden && document.visibilityState !== "hidden";

// validS: how long the code just drawn is this minute's (the hub also takes last minute's code,
// so asking right after the minute turns keeps what is shown valid all the time).
function showCode(validS) {
  clearTimeout(codeTimer);
  if (!codeOnScreen()) {
    codeShownFor = "";
    return;
  }
  codeShownFor = state.member.member.id;
  $("m-code").src = `${API}/member/code.svg?at=${Date.now()}`;
  codeTimer = setTimeout(renewCode, Math.max(1, validS | 0) * 1000 + 300);
}

async function renewCode() {
  clearTimeout(codeTimer);
  if (!codeOnScreen()) {
    codeShownFor = "";
    return;
  }
  const r = await call("GET", `${API}/member/code`);
  if (r.ok && r.data && typeof r.data.valid_s === "number") showCode(r.data.valid_s);
  else if (r.status === 401) loadMember(); // signed out elsewhere, or the session ran out
  else codeTimer = setTimeout(renewCode, CODE_RETRY_MS);
}

$("m-code").addEventListener("error", () => {
  if (codeOnScreen()) {
    clearTimeout(codeTimer);
    codeTimer = setTimeout(renewCode, CODE_RETRY_MS);
  }
});

function followCode() {
  const me = state.member && state.member.member;
  if (!me) {
    clearTimeout(codeTimer);
    codeShownFor = "";
    $("m-code").removeAttribute("src");
  } else if (codeShownFor !== me.id) showCode(me.code_valid_s);
}

// ---- joining: consent first, one request per tap however often it is tapped ----

let joining = false;

const digits = (s) => s.replace(/\D/g, "");

async function join(ev) {
  ev.preventDefault();
  if (joining) return;
  const phone = $("join-phone").value.trim();
  const consent = $("join-consent").checked;
  $("join-consent-label").classList.toggle("missing", !consent);
  if (digits(phone).length < 11) {
    msg(t("needPhone"), "error");
    $("join-phone").focus();
    return;
  }
  if (!consent) {
    msg(t("needConsent"), "error");
    return;
  }
  joining = true;
  const btn = $("join-btn");
  btn.disabled = true;
  btn.textContent = t("joining");
  const birthday = $("join-birthday").value || null;
  const invite = $("join-invite").value.trim() || null; // a friend's share code (invite.js)
  const r = await call("POST", `${API}/member/join`, { phone, consent: true, birthday, invite }, { timeoutMs: 15000 });
  joining = false;
  btn.disabled = false;
  btn.textContent = t("join");
  if (!r.ok) return refused(r);
  $("join-form").reset();
  if (r.data && r.data.member && state.member) setMember({ ...state.member, member: r.data.member });
  msg(t("joined"), "ok");
  loadMember(); // with what is popular, and the party's member
}

// ---- signing in on this phone: a waiter confirms at the table ----

let asking = false;
let polling = false;
let pollAgain = false;
let pollTimer = 0;

async function askSignIn(ev) {
  ev.preventDefault();
  if (asking || state.signIn) return;
  const phone = $("signin-phone").value.trim();
  if (digits(phone).length < 11) {
    msg(t("needPhone"), "error");
    $("signin-phone").focus();
    return;
  }
  asking = true;
  $("signin-btn").disabled = true;
  const r = await call("POST", `${API}/member/sign-in`, { phone }, { timeoutMs: 15000 });
  asking = false;
  $("signin-btn").disabled = false;
  if (!(r.ok && r.data && r.data.id)) return refused(r);
  $("signin-form").reset();
  const d = digits(phone).slice(-11);
  setSignIn({ id: r.data.id, phone: `${d.slice(0, 3)}****${d.slice(-4)}` }); // what the waiter sees too
  pollTimer = setTimeout(pollSignIn, POLL_MS);
}

// Ask how the request stands until the waiter decides. One question at a time: the hub hands
// the member's session to the first answer after "confirmed", and only once.
export async function pollSignIn() {
  clearTimeout(pollTimer);
  const req = state.signIn;
  if (!req) return;
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  pollAgain = false;
  const r = await call("GET", `${API}/member/sign-in/${encodeURIComponent(req.id)}`, undefined, { timeoutMs: 15000 });
  polling = false;
  if (state.signIn !== req) return; // cancelled meanwhile
  const st = r.ok && r.data ? r.data.state : "";
  if (st === "confirmed") {
    setSignIn(null);
    msg(t("signedIn"), "ok");
    loadMember();
  } else if (st === "refused" || st === "expired") {
    setSignIn(null);
    msg(t(st === "refused" ? "signInRefused" : "signInExpired"), "error");
  } else if (r.status === 403) showInvalid();
  else pollTimer = setTimeout(pollSignIn, pollAgain ? 0 : POLL_MS);
}

// ---- signing out ----

async function signOut(ev) {
  const btn = ev.currentTarget;
  btn.disabled = true;
  const r = await call("POST", `${API}/member/sign-out`);
  btn.disabled = false;
  if (!r.ok) return refused(r);
  msg(t("signedOut"), "ok");
  await loadMember();
}

// ---- from the table's live feed ----

export function memberLive(m) {
  if (m.type === "sign_in" && state.signIn && m.id === state.signIn.id) pollSignIn();
  else if (m.type === "paid" && signedIn()) {
    const me = state.member.member;
    const p = m.payment || {};
    if (p.member === me.id && p.points_earned > 0) msg(t("paidPoints", p.points_earned), "ok", 8000);
    loadMember();
  }
}

$("member-btn").addEventListener("click", () => {
  render();
  openSheet("member-sheet");
  codeShownFor = ""; // on screen again: a fresh code
  followCode();
  loadMember();
});
$("join-form").addEventListener("submit", join);
$("join-consent").addEventListener("change", (ev) => {
  if (ev.currentTarget.checked) $("join-consent-label").classList.remove("missing");
});
$("signin-form").addEventListener("submit", askSignIn);
$("signin-cancel").addEventListener("click", () => {
  clearTimeout(pollTimer);
  setSignIn(null);
});
$("sign-out").addEventListener("click", signOut);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (state.signIn) pollSignIn();
  if (codeOnScreen()) renewCode();
});

on("member", () => {
  render();
  followCode();
});
on("dishes", () => { if (state.member) render(); });
on("table", () => { if (state.member) render(); });
onLangChange(() => { if (state.menu) render(); });
