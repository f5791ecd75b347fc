// Staff's games page: pause or resume a campaign in this store, release or refuse the plays
// held as possibly farmed, and check a receipt a diner shows. Both languages side by side.
import { $, h, message } from "./dom.js";
import { both, money } from "./i18n.js";
import { staffApi, logout, showRole } from "./api.js";

const LOGIN = "/login?next=/games";
const REFRESH_MS = 5000; // flagged plays arrive while staff look: the page asks again
const msg = (text, kind = "error") => message(text, kind, kind === "ok" ? 3000 : 8000);
const api = staffApi(LOGIN, msg);

function button(text, onClick) {
  const b = h("button", "manager-only", text); // every action here is a manager's
  b.type = "button";
  b.addEventListener("click", async () => {
    b.disabled = true;
    await onClick();
    b.disabled = false;
    load();
  });
  return b;
}

function campaignRow(c) {
  const li = h("li", "table");
  li.dataset.campaign = c.id;
  const state = c.paused ? "已暂停 Paused" : c.running ? "进行中 Running" : "未开始/已结束 Not running";
  li.append(h("strong", null, both(c)), h("span", "muted", ` ${state} · `));
  const budget = c.budget_today_fen ? `${money(c.spent_today_fen)} / ${money(c.budget_today_fen)}` : money(c.spent_today_fen);
  li.append(h("span", "muted", `今日花费 Spent today ${budget} `));
  li.append(
    c.paused
      ? button("恢复 Resume", () => api("POST", `/api/games/${encodeURIComponent(c.id)}/resume`))
      : button("暂停 Pause", () => api("POST", `/api/games/${encodeURIComponent(c.id)}/pause`)),
  );
  return li;
}

function flagRow(f) {
  const li = h("li", "table");
  li.dataset.play = f.play;
  const at = new Date(f.at * 1000).toLocaleTimeString();
  li.append(h("strong", null, `${f.campaign} · 桌 Table ${f.table} · ${f.prize}`), h("span", "muted", ` ${at} · ${f.flag} `));
  li.append(
    button("放行 Release", () => api("POST", `/api/games/plays/${encodeURIComponent(f.play)}/release`)),
    button("拒绝 Refuse", () => api("POST", `/api/games/plays/${encodeURIComponent(f.play)}/refuse`)),
  );
  return li;
}

async function load() {
  const data = await api("GET", "/api/games");
  if (!data) return;
  $("campaigns").replaceChildren(...data.campaigns.map(campaignRow));
  if (!data.campaigns.length) $("campaigns").append(h("li", "empty", "本店没有活动 No campaign in this store"));
  $("flags").replaceChildren(...data.flagged.map(flagRow));
  $("no-flags").hidden = data.flagged.length > 0;
}

$("verify").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await api("POST", "/api/games/verify", { receipt: $("receipt").value });
  if (!r) return;
  $("verdict").textContent = r.valid
    ? `✓ 有效 Valid: ${r.play.campaign} · ${r.play.prize} · 桌 Table ${r.play.table} · ${r.play.status}`
    : `✗ 无效 Not valid: ${r.reason}`;
});
$("logout").addEventListener("click", logout);
showRole();
load();
setInterval(load, REFRESH_MS);
