// Members signing in on a new phone: each request waits here until a waiter, at the table,
// checks the guest's phone shows the same masked number and confirms (or refuses). Live from the
// board's feed; a request the hub let expire (5 minutes) leaves the list by itself.
import { $, h } from "../dom.js";
import { ago } from "../i18n.js";
import { api, msg } from "./hub.js";

const TTL_S = 300; // the hub forgets a request after this (edge/members/domain.py SIGN_IN_TTL_S)

const shown = { list: [], clockOffset: 0, seen: false }; // seen: the first list came
const hubNow = () => Date.now() / 1000 + shown.clockOffset;

export function setSignInClock(now) {
  shown.clockOffset = now - Date.now() / 1000;
}

function makeItem(r) {
  const li = h("li", "sign-in");
  li.dataset.signIn = r.id;
  const top = h("div", "si-top");
  top.append(h("span", "si-table"), h("span", "si-phone"), h("span", "si-age"));
  const confirm = h("button", "confirm", "确认登录 Confirm");
  const refuse = h("button", "refuse", "拒绝 Refuse");
  confirm.addEventListener("click", () => decide(li, "confirm"));
  refuse.addEventListener("click", () => decide(li, "refuse"));
  const btns = h("div", "si-btns");
  btns.append(confirm, refuse);
  li.append(top, h("div", "si-who"), btns);
  return li;
}

function updateItem(li, r) {
  li.dataset.table = r.table;
  li.querySelector(".si-table").textContent = r.table;
  li.querySelector(".si-phone").textContent = r.phone;
  li.classList.toggle("stranger", !r.member);
  li.querySelector(".si-who").textContent = r.member
    ? "会员 Member: 请核对客人手机上的号码 check the number on the guest's phone"
    : "不是会员 Not a member: 请帮客人在手机上注册 help them join on their phone";
  li.querySelector(".confirm").disabled = !r.member;
  li.querySelector(".refuse").disabled = false;
}

function render() {
  const now = hubNow();
  const list = shown.list.filter((r) => now - r.created < TTL_S).sort((a, b) => a.created - b.created);
  const ul = $("sign-ins");
  const old = new Map([...ul.children].map((li) => [li.dataset.signIn, li]));
  list.forEach((r, i) => {
    let li = old.get(r.id);
    if (!li) li = makeItem(r);
    updateItem(li, r);
    li.querySelector(".si-age").textContent = ago(now - r.created);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    old.delete(r.id);
  });
  for (const li of old.values()) li.remove();
  $("sign-ins-sec").hidden = !list.length;
}

// The pending requests (board snapshot, a "sign_ins" message): what is not listed is over.
export function showSignIns(list) {
  const before = new Set(shown.list.map((r) => r.id));
  shown.list = list;
  render();
  const fresh = list.filter((r) => !before.has(r.id));
  if (fresh.length && shown.seen) {
    msg(`${fresh.map((r) => r.table).join("、")} 会员登录请求 Member sign-in request`, "ok");
  }
  shown.seen = true;
}

export async function loadSignIns() {
  const data = await api("GET", "/api/members/sign-ins");
  if (data && Array.isArray(data.sign_ins)) showSignIns(data.sign_ins);
}

async function decide(li, what) {
  const id = li.dataset.signIn;
  for (const b of li.querySelectorAll("button")) b.disabled = true;
  const data = await api("POST", `/api/members/sign-ins/${encodeURIComponent(id)}/${what}`);
  if (data) {
    const r = shown.list.find((x) => x.id === id);
    shown.list = shown.list.filter((x) => x.id !== id);
    render();
    const where = r ? `${r.table} ${r.phone} ` : "";
    msg(what === "confirm" ? `${where}已登录 Signed in` : `${where}已拒绝 Refused`, "ok");
  } else loadSignIns(); // gone meanwhile (expired, another waiter): the list as it is
}

export const tickSignIns = () => { if (shown.list.length) render(); };
