// The queue screen: numbers ready for pick-up (newest large), a chime for each new one, the
// text staff send, and "未连接 Not connected" whenever the hub or the broker is away.
import { $, chime, connect, el, locate } from "./live.js";

const state = {
  link: false, status: null, ready: null, config: {}, display: null, shown: null,
  line: null, spokenSeq: null,
};
// A call older than this when the screen first hears of it (it reconnected, the page reloaded)
// is shown but not spoken again.
const ANNOUNCE_WITHIN_MS = 60000;
const DIGITS = "零一二三四五六七八九";

function render() {
  const { status, ready } = state;
  const up = state.link && status && status.broker && status.hub === "online";
  $("link").classList.toggle("down", !up);
  $("link").innerHTML = up
    ? '<span lang="zh">已连接</span> <span lang="en">Connected</span>'
    : '<span lang="zh">未连接</span> <span lang="en">Not connected</span>';
  $("offline").hidden = up;
  $("offline-why").textContent = !state.link
    ? "屏幕程序未运行 The screen's app is not running"
    : status && !status.broker
      ? "连不上门店服务器 Cannot reach the store's broker"
      : "门店主机离线 The store hub is offline";
  const numbers = ready || [];
  $("newest").textContent = numbers.length ? String(numbers[0]) : "";
  $("newest-box").hidden = numbers.length === 0;
  $("others").replaceChildren(...numbers.slice(1, 10).map((n) => el("li", { "data-no": n }, n)));
  $("empty").hidden = numbers.length > 0;
  renderLine();
  renderMessage();
}

function renderLine() {
  const board = state.line;
  const groups = board ? board.groups.filter((g) => g.calling || g.waiting || g.recent.length) : [];
  $("line").hidden = groups.length === 0;
  $("groups").replaceChildren(...groups.map((g) => el("div", { class: "wl-group", "data-group": g.group },
    el("div", { class: "name" }, `${g.group} ${g.name_zh} ${g.name_en}`),
    el("div", { class: g.calling && g.calling === board.called ? "calling fresh" : "calling" }, g.calling || "—"),
    el("div", { class: "recent" }, g.recent.join("  ")),
    el("div", { class: "waiting" },
      `等候 ${g.waiting} 桌 waiting` +
        (g.waiting && g.est_high_min != null ? ` · 约 ${g.est_low_min}–${g.est_high_min} 分钟 min` : "")),
  )));
}

// "A012" in Chinese, digit by digit as a caller says it: "请A零一二号顾客用餐".
function spoken(number) {
  const [letter, ...digits] = number;
  return `请${letter}${digits.map((d) => DIGITS[Number(d)]).join("")}号顾客用餐`;
}

function speak(text) {
  try {
    const u = new SpeechSynthesisUtterance(text);
    u.lang = "zh-CN";
    u.rate = 0.9;
    window.speechSynthesis.speak(u);
    return true;
  } catch (e) {
    return false; // no speech on this device: the screen still shows the call
  }
}

function onLine(board) {
  const before = state.spokenSeq;
  state.line = board;
  if (!board) return;
  state.spokenSeq = board.call_seq;
  const fresh = board.called_at_ms && board.ts_ms - board.called_at_ms < ANNOUNCE_WITHIN_MS;
  const isNew = before === null ? fresh : board.call_seq > before;
  if (isNew && board.called && state.config.announce !== false) {
    if (speak(spoken(board.called))) {
      document.body.dataset.spoken = String(Number(document.body.dataset.spoken) + 1);
    }
  }
}

function renderMessage() {
  const d = state.display;
  const seconds = state.config.display_s || 600;
  const live = d && Date.now() - d.at_ms < seconds * 1000;
  $("message").hidden = !live;
  $("message").textContent = live ? d.text : "";
}

function onReady(numbers) {
  const before = state.shown;
  state.ready = numbers;
  if (numbers && before !== null && numbers.length && !before.includes(numbers[0])) {
    if (state.config.chime !== false) {
      document.body.dataset.chimes = String(Number(document.body.dataset.chimes) + 1);
      document.body.dataset.audio = chime();
    }
    $("newest").classList.remove("fresh");
    void $("newest").offsetWidth; // restart the animation
    $("newest").classList.add("fresh");
  }
  if (numbers) state.shown = numbers;
}

connect({
  onLink(up) {
    state.link = up;
    render();
  },
  onMessage(msg) {
    switch (msg.type) {
      case "config": state.config = msg; break;
      case "status": state.status = msg; break;
      case "ready": onReady(msg.ready); break;
      case "waitlist": onLine(msg.board); break;
      case "display": state.display = msg; break;
      case "locate": locate(msg.seconds, state.config.device || ""); break;
      case "reload": location.reload(); return;
      default: return;
    }
    render();
  },
});
setInterval(renderMessage, 1000);
render();
