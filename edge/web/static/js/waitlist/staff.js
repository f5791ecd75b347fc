// The staff's waitlist page: per table group the parties waiting (in the order they will be
// called: member priority applied) and those called; call next or a chosen number, seat at a
// table, skip a no-show after the grace time, put back; today's bookings, arrivals, no-shows.
import { call } from "../api.js";
import { $, h, message } from "../dom.js";
import { duration } from "../i18n.js";
import { followBoard } from "../live.js";

const LOGIN = "/login?next=/waitlist";
const STATUS = {
  waiting: "等待 Waiting", called: "已叫 Called", no_show: "过号 No-show", seated: "入座 Seated",
  left: "离开 Left", booked: "已预订 Booked", arrived: "已到店 Arrived", cancelled: "已取消 Cancelled",
};
let view = null;
let tables = [];

async function act(method, path, body) {
  const r = await call(method, path, body, { login: LOGIN });
  if (!r.ok) {
    const d = r.data && r.data.detail;
    message((d && d.message) || `出错了 Error (${r.status})`, "error", 6000);
  }
  await refresh();
  return r;
}

function button(text, onClick, disabled = false) {
  const b = h("button", "", text);
  b.type = "button";
  b.disabled = disabled;
  b.addEventListener("click", onClick);
  return b;
}

function partyRow(p, now) {
  const row = h("div", "row");
  row.dataset.number = p.number;
  row.append(h("span", "no", p.number), h("span", "", `${p.size}位 ${p.size}p`));
  if (p.priority) row.append(h("span", "tag gold", p.source === "booking" ? "预订 Booked" : "会员优先 Priority"));
  row.append(h("span", "muted", duration(p.waited_s)));
  const id = encodeURIComponent(p.id);
  if (p.status === "waiting") {
    row.append(button("叫号 Call", () => act("POST", `/api/waitlist/parties/${id}/call`)));
  } else {
    row.append(h("span", "tag", STATUS[p.status]));
    if (p.status === "called") {
      const sel = h("select");
      sel.setAttribute("aria-label", `桌号 Table for ${p.number}`);
      for (const t of tables) sel.append(new Option(t.name, t.id));
      const graceLeft = (p.called_at || 0) + view.no_show_grace_s - now;
      row.append(
        button("再叫 Again", () => act("POST", `/api/waitlist/parties/${id}/call`)),
        sel,
        button("入座 Seat", () => act("POST", `/api/waitlist/parties/${id}/seat`, { table: sel.value })),
        button(graceLeft > 0 ? `过号 Skip (${Math.ceil(graceLeft)}s)` : "过号 Skip", () =>
          act("POST", `/api/waitlist/parties/${id}/no-show`), graceLeft > 0),
      );
    }
    if (p.status === "called" || p.status === "no_show") {
      row.append(button("放回 Put back", () => act("POST", `/api/waitlist/parties/${id}/put-back`)));
    }
  }
  return row;
}

function render() {
  if (!view) return;
  const now = view.now;
  const booked = view.bookings.filter((b) => b.status === "booked");
  $("groups").replaceChildren(...view.groups.map((g) => {
    const box = h("section", "group");
    box.dataset.group = g.id;
    const head = h("h2", "", `${g.id} ${g.name_zh} ${g.name_en} (${g.min_size}–${g.max_size}) · ${g.waiting.length}`);
    box.append(head, button(`叫下一位 Call next ${g.id}`, () => act("POST", `/api/waitlist/groups/${g.id}/call-next`), g.waiting.length === 0));
    for (const p of g.called) box.append(partyRow(p, now));
    for (const p of g.waiting) box.append(partyRow(p, now));
    for (const b of booked.filter((x) => x.group === g.id)) {
      const row = h("div", "row");
      row.append(h("span", "tag gold", `已预订 Booked · ${b.slot} 到店 arriving`), h("span", "", `${b.size}位 ${b.size}p ${b.name}`));
      box.append(row);
    }
    return box;
  }));
  $("bookings").replaceChildren(...view.bookings.map((b) => {
    const tr = h("tr");
    const id = encodeURIComponent(b.id);
    const actions = h("td");
    if (b.status === "booked") {
      actions.append(
        button("到店 Arrived", () => act("POST", `/api/bookings/${id}/arrive`)),
        button("未到 No-show", () => act("POST", `/api/bookings/${id}/no-show`)),
      );
    }
    tr.append(h("td", "", b.slot), h("td", "", b.group), h("td", "", b.size), h("td", "", b.name),
      h("td", "", b.phone), h("td", "", STATUS[b.status] || b.status), actions);
    return tr;
  }));
}

async function refresh() {
  const r = await call("GET", "/api/waitlist", undefined, { login: LOGIN });
  if (r.ok) {
    view = r.data;
    render();
  }
}

$("walk-in").addEventListener("click", async () => {
  const size = Number($("walk-in-size").value);
  const key = `s-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const r = await act("POST", "/api/waitlist/staff-take", { key, size });
  if (r.ok) message(`${r.data.number} · ${r.data.size}位 people`, "ok", 4000);
});
$("call-chosen").addEventListener("click", () =>
  act("POST", `/api/waitlist/numbers/${encodeURIComponent($("chosen").value.trim())}/call`));

(async () => {
  const r = await call("GET", "/api/tables", undefined, { login: LOGIN });
  if (r.ok) tables = r.data.tables;
  await refresh();
})();
followBoard((msg) => { if (msg.type === "waitlist") refresh(); }, LOGIN);
setInterval(refresh, 5000); // timers (waited, the skip's grace) move on their own
