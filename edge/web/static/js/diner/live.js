// The table's live feed: sold-out marks, its orders' progress, the table opened or closed, a new
// menu. Back after a gap (the phone slept, the Wi-Fi dropped): the page catches up.
import { $ } from "../dom.js";
import { t } from "../i18n.js";
import { liveFeed } from "../live.js";
import { TOKEN, state, on, setSoldOut, setTableOpen, putOrder } from "./state.js";
import { msg } from "./ui.js";
import { loadMenu } from "./menu.js";
import { loadOrders } from "./orders.js";
import { sendPending } from "./cart.js";
import { loadMember, memberLive, pollSignIn } from "./member.js";
import { offerFeedback } from "./feedback.js";

const setLive = (up) => $("live").classList.toggle("up", up);

function onMessage(m) {
  if (m.type === "menu" && Array.isArray(m.sold_out)) setSoldOut(m.sold_out);
  else if (m.type === "order" && m.order && m.order.id) {
    const was = putOrder(m.order);
    if (m.order.status === "done" && was && was.status !== "done") msg(t("ready", m.order.no), "ok", 8000);
  } else if (m.type === "table") {
    setTableOpen(m.open !== false);
    loadMenu(); // a new QR code for this table ends this page: the menu call says so
  } else if (m.type === "config") loadMenu(); // a new menu
  else if (m.type === "sign_in" || m.type === "paid") memberLive(m);
  if (m.type === "paid") offerFeedback(m.payment);
}

const feed = liveFeed(`/ws/diner/${encodeURIComponent(TOKEN)}`, {
  firstRetryMs: 1000,
  maxRetryMs: 30000,
  jitterMs: 500,
  onOpen(again) {
    setLive(true);
    if (again) loadMenu(); // missed while away: sold-out marks, table closed
    loadOrders();
    if (state.pending && !state.sending) sendPending();
    if (state.signIn) pollSignIn(); // a waiter may have decided while away (or before a reload)
    if (again && state.member) loadMember();
  },
  onMessage,
  onClose(ev) {
    setLive(false);
    if (ev.code === 1008) loadMenu(); // refused: a rotated code shows the "not valid" page
  },
});

export const connect = () => feed.connect();

on("invalid", () => feed.stop());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.menu && !feed.connected) feed.reconnect();
});
window.addEventListener("online", () => {
  if (!state.menu) return;
  feed.reconnect();
  if (state.pending && !state.sending) sendPending();
});
