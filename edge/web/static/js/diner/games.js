// The 游戏 Games tab: the campaigns running in this store (lucky wheel, guess the dish, scan-QR
// gift, stamp card), what this table's party may still play, and what it won and where it went.
// Every draw is the hub's: the phone sends a play id (made here, kept until the hub answered, so
// a retry after a lost answer gets the same result, never a second draw) and animates what the
// hub decided. The quiz's answer is never here before the diner answers. Everything it draws
// goes in with textContent only. Its button and sheet are made here: diner.html only loads it.
import { $, h, saved } from "../dom.js";
import { define, t, pick, onLangChange } from "../i18n.js";
import { call, NO_ANSWER } from "../api.js";
import { API, TOKEN } from "./state.js";
import { msg, openSheet, closeSheet, showError } from "./ui.js";

define({
  zh: {
    games: "游戏", gamesTitle: "游戏与活动", noGames: "现在没有进行中的活动",
    spin: "转一次", spinning: "转动中…", payFirst: "结账后即可参加", played: "本次账单已参加",
    startQuiz: "开始答题", whichDish: "这是哪道菜？", claim: "领取礼物", claimed: "已领取",
    stamp: "盖章", stamps: (n, m) => `已集 ${n}/${m} 个章`,
    stampFrom: (p) => `来自 ${p.join("、")}（各门店通用）`, cardsFilled: (n) => `已集满 ${n} 张卡`, won: "您获得了", receipt: "凭证",
    membersOnly: "会员专享，请先在会员页登录", paused: "本店暂停了这个活动", retryNet: "网络不稳定，请重试（不会重复抽奖）",
    right: "答对了！", wrongAns: (n) => `答错了，正确答案是：${n}`, history: "本桌记录", flagged: "待店员确认",
  },
  en: {
    games: "Games", gamesTitle: "Games & offers", noGames: "No campaign is running now",
    spin: "Spin", spinning: "Spinning…", payFirst: "Play once the bill is paid", played: "This bill has played",
    startQuiz: "Start the quiz", whichDish: "Which dish is this?", claim: "Claim the gift", claimed: "Claimed",
    stamp: "Collect a stamp", stamps: (n, m) => `${n} of ${m} stamps`,
    stampFrom: (p) => `from ${p.join(", ")} (every store counts)`, cardsFilled: (n) => `${n} full cards so far`, won: "You won", receipt: "Receipt",
    membersOnly: "For members: sign in on the member tab first", paused: "This store paused the campaign",
    retryNet: "Network problem: try again (it will not draw twice)",
    right: "Right!", wrongAns: (n) => `Not this time: it was ${n}`, history: "This table", flagged: "Waiting for staff",
  },
});

const SPIN_MS = 3200; // long enough to feel like a wheel, short enough to wait for
const COLORS = ["#b83227", "#f0a500", "#2e7d32", "#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037"];
const pendingKey = (campaign) => `smartstore.play.${TOKEN}.${campaign}`;
let campaigns = [];
let member = null; // the member this party plays for (the hub says), or null
let turn = 0; // the wheel's rotation so far, in degrees: each spin goes on from it

// ---- the button and the sheet ----

const button = h("button", "pill", t("games"));
button.type = "button";
button.id = "games-btn";
const bar = document.querySelector("#top .bar");
if (bar) bar.insertBefore(button, $("lang"));
const sheet = h("section", "sheet games");
sheet.id = "games-sheet";
sheet.setAttribute("role", "dialog");
sheet.setAttribute("aria-modal", "true");
sheet.hidden = true;
const head = h("div", "sheet-head");
const title = h("h2", null, t("gamesTitle"));
const x = h("button", "x", "×");
x.type = "button";
x.addEventListener("click", closeSheet);
head.append(title, x);
const body = h("div", "games-body");
sheet.append(head, body);
document.body.append(sheet);

button.addEventListener("click", () => {
  openSheet("games-sheet");
  load();
});
onLangChange(() => {
  button.textContent = t("games");
  x.setAttribute("aria-label", t("close") || "×");
  title.textContent = t("gamesTitle");
  render();
});

// ---- talking to the hub ----

async function load() {
  const r = await call("GET", `${API}/games`, undefined, { timeoutMs: 8000 });
  if (!r.ok) return r.status === NO_ANSWER ? msg(t("retryNet"), "error") : showError(r.status, r.data);
  campaigns = r.data.campaigns || [];
  member = r.data.member;
  render();
}

// A play id made once per tap and kept until the hub's answer arrived: sent again after a
// lost answer, the hub answers what it recorded.
function playId(campaign) {
  let id = saved.get(pendingKey(campaign));
  if (!id) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    id = "p" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    saved.set(pendingKey(campaign), id);
  }
  return id;
}

async function send(campaign, action, extra) {
  const play = extra && extra.play ? extra.play : playId(campaign);
  const r = await call("POST", `${API}/games/${encodeURIComponent(campaign)}/${action}`, { play, ...(extra || {}) }, { timeoutMs: 10000 });
  if (r.status === NO_ANSWER) {
    msg(t("retryNet"), "error"); // the id stays: the next tap asks for the same play
    return null;
  }
  if (action !== "play" || !r.ok || (r.data && r.data.status !== "asked")) saved.set(pendingKey(campaign), null);
  if (!r.ok) {
    showError(r.status, r.data);
    return null;
  }
  return r.data;
}

// ---- drawing ----

function render() {
  body.replaceChildren();
  if (!campaigns.length) {
    body.append(h("p", "empty", t("noGames")));
    return;
  }
  for (const c of campaigns) body.append(card(c));
}

function card(c) {
  const box = h("article", `game ${c.kind}`);
  box.dataset.campaign = c.id;
  box.append(h("h3", null, pick(c, "name")));
  if (pick(c, "text")) box.append(h("p", "muted", pick(c, "text")));
  if (c.paused) {
    box.append(h("p", "hint", t("paused")));
    return box;
  }
  if (c.kind === "wheel") wheel(c, box);
  else if (c.kind === "quiz") quiz(c, box);
  else if (c.kind === "scan_qr") scan(c, box);
  else if (c.kind === "stamp_card") stamps(c, box);
  if (c.plays && c.plays.length) {
    const ul = h("ul", "game-plays");
    for (const p of c.plays) if (p.prize) ul.append(h("li", null, outcome(p)));
    if (ul.children.length) box.append(h("h4", null, t("history")), ul);
  }
  return box;
}

// "You won 10 points — added to your member account", or where the prize waits.
function outcome(p) {
  const prize = p.prize ? pick(p.prize, "name") : "";
  const where = pick(p, "where");
  if (p.status === "flagged") return `${prize} — ${t("flagged")}`;
  return where ? `${prize} — ${where}` : prize;
}

function result(box, p) {
  const old = box.querySelector(".game-result");
  if (old) old.remove();
  const r = h("div", `game-result ${p.status}`);
  r.setAttribute("role", "status");
  if (p.prize && p.prize.kind !== "none") r.append(h("strong", null, `${t("won")}: ${pick(p.prize, "name")}`));
  else if (p.prize) r.append(h("strong", null, pick(p.prize, "name")));
  if (pick(p, "where")) r.append(h("p", null, p.status === "flagged" ? t("flagged") : pick(p, "where")));
  if (p.receipt) r.append(h("small", "receipt", `${t("receipt")} ${p.receipt}`));
  box.append(r);
}

function canPlay(c, box) {
  if (c.members_only && !member) box.append(h("p", "hint", t("membersOnly")));
  if (!c.paid) {
    box.append(h("p", "hint", t("payFirst")));
    return false;
  }
  if (c.plays && c.plays.some((p) => p.status !== "asked")) {
    box.append(h("p", "hint", t("played")));
    return false;
  }
  return true;
}

// ---- the lucky wheel: a canvas turned by a CSS transition to the slice the hub drew ----

function drawWheel(canvas, prizes) {
  const ctx = canvas.getContext("2d");
  const n = prizes.length;
  const r = canvas.width / 2;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "bold 14px sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  prizes.forEach((p, i) => {
    // Slice i spans from the top, clockwise: its middle is at (i + .5) / n of a turn.
    const a0 = -Math.PI / 2 + (i * 2 * Math.PI) / n;
    const a1 = a0 + (2 * Math.PI) / n;
    ctx.beginPath();
    ctx.moveTo(r, r);
    ctx.arc(r, r, r - 2, a0, a1);
    ctx.closePath();
    ctx.fillStyle = COLORS[i % COLORS.length];
    ctx.fill();
    ctx.save();
    ctx.translate(r, r);
    ctx.rotate((a0 + a1) / 2);
    ctx.fillStyle = "#fff";
    ctx.fillText(pick(p, "name").slice(0, 10), r - 12, 0);
    ctx.restore();
  });
}

function wheel(c, box) {
  const wrap = h("div", "wheel-wrap");
  const canvas = h("canvas", "wheel");
  canvas.width = canvas.height = 260;
  drawWheel(canvas, c.prizes);
  canvas.style.transform = `rotate(${turn}deg)`;
  wrap.append(h("div", "wheel-pointer"), canvas);
  box.append(wrap);
  if (!canPlay(c, box)) return;
  const go = h("button", "primary", t("spin"));
  go.type = "button";
  go.addEventListener("click", async () => {
    go.disabled = true;
    go.textContent = t("spinning");
    const p = await send(c.id, "play");
    if (!p) {
      go.disabled = false;
      go.textContent = t("spin");
      return;
    }
    const n = c.prizes.length;
    const index = p.index === null || p.index === undefined ? 0 : p.index;
    // Bring the slice's middle under the pointer at the top, after five whole turns.
    const target = 360 - ((index + 0.5) * 360) / n;
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    turn = turn - (turn % 360) + (reduce ? 360 : 5 * 360) + target;
    canvas.style.transition = `transform ${reduce ? 1 : SPIN_MS}ms cubic-bezier(.17,.67,.12,1)`;
    canvas.style.transform = `rotate(${turn}deg)`;
    setTimeout(() => {
      go.remove();
      result(box, p);
      c.plays = [...(c.plays || []), p];
    }, reduce ? 0 : SPIN_MS);
  });
  box.append(go);
}

// ---- guess the dish: the hub sends a picture (under the play's own address), a description
// and four names; the answer comes back only with the result ----

function quiz(c, box) {
  const asked = (c.plays || []).find((p) => p.status === "asked");
  if (!asked && !canPlay(c, box)) return;
  const go = h("button", "primary", t("startQuiz"));
  go.type = "button";
  go.addEventListener("click", async () => {
    go.disabled = true;
    const q = await send(c.id, "play");
    go.disabled = false;
    if (!q || !q.question) {
      if (q) result(box, q);
      return;
    }
    go.remove();
    ask(c, box, q);
  });
  box.append(go);
}

function ask(c, box, q) {
  const panel = h("div", "quiz");
  panel.append(h("p", "q", t("whichDish")));
  if (q.question.photo) {
    const img = h("img", "quiz-photo");
    img.alt = "";
    img.src = q.question.photo;
    panel.append(img);
  }
  const desc = pick(q.question, "desc");
  if (desc) panel.append(h("p", "muted", desc));
  const choices = h("div", "choices");
  for (const ch of q.question.choices) {
    const b = h("button", "choice-btn", pick(ch, "name"));
    b.type = "button";
    b.dataset.choice = ch.id;
    b.addEventListener("click", async () => {
      for (const other of choices.children) other.disabled = true;
      const a = await send(c.id, "answer", { play: q.play, choice: ch.id });
      if (!a) {
        for (const other of choices.children) other.disabled = false;
        return;
      }
      saved.set(pendingKey(c.id), null);
      const right = q.question.choices.find((x) => x.id === a.answer);
      panel.append(h("p", a.right ? "ok" : "hint", a.right ? t("right") : t("wrongAns", right ? pick(right, "name") : "")));
      if (a.right) result(box, a);
    });
    choices.append(b);
  }
  panel.append(choices);
  box.append(panel);
}

// ---- the scan-QR gift: once per member ----

function scan(c, box) {
  if (!member) box.append(h("p", "hint", t("membersOnly")));
  if (c.plays && c.plays.length) {
    box.append(h("p", "hint", t("claimed")));
    return;
  }
  const go = h("button", "primary", t("claim"));
  go.type = "button";
  go.addEventListener("click", async () => {
    go.disabled = true;
    const p = await send(c.id, "scan");
    go.disabled = false;
    if (p) {
      go.remove();
      result(box, p);
    }
  });
  box.append(go);
}

// ---- the stamp card: stamps from the paid bills the hub saw, one per table ----

function stamps(c, box) {
  const held = c.card || { stamps: [], needed: 5 };
  const have = held.stamps.length;
  const row = h("div", "stamps");
  row.setAttribute("aria-label", t("stamps", have, held.needed));
  for (let i = 0; i < held.needed; i++) {
    const mark = h("span", i < have ? "stamp on" : "stamp", i < have ? "✓" : "");
    if (i < have) mark.title = held.stamps[i]; // "<store>:<table>": stamps from every store count
    row.append(mark);
  }
  box.append(row, h("p", "muted", t("stamps", have, held.needed)));
  if (have) box.append(h("p", "muted stamp-from", t("stampFrom", held.stamps)));
  if (held.filled) box.append(h("p", "muted", t("cardsFilled", held.filled)));
  if (!canPlay(c, box)) return;
  const go = h("button", "primary", t("stamp"));
  go.type = "button";
  go.addEventListener("click", async () => {
    go.disabled = true;
    const p = await send(c.id, "stamp");
    go.disabled = false;
    if (!p) return;
    c.card = { stamps: p.stamps, needed: p.needed, filled: p.filled };
    c.plays = [...(c.plays || []), p.stamped];
    const fresh = card(c);
    box.replaceWith(fresh);
    if (p.full) result(fresh, p.stamped);
  });
  box.append(go);
}
