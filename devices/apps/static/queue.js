// The queue screen: numbers ready for pick-up (newest large), a chime for each new one, the
// text staff send, and "未连接 Not connected" whenever the hub or the broker is away.
import { $, chime, connect, el, locate } from "./live.js";

const state = { link: false, status: null, ready: null, config: {}, display: null, shown: null };

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
  renderMessage();
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
