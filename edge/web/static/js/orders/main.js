// The kitchen/orders page: open orders live from the board's WebSocket, with their print jobs;
// done, void and reprint; the menu's sold-out switches; tables open/close, paid (with the
// table's member) and new QR codes; members' sign-in requests for a waiter to confirm.
import { $ } from "../dom.js";
import { logout, showRole } from "../api.js";
import { followBoard } from "../live.js";
import { LOGIN } from "./hub.js";
import { placeAll, setHubClock, showOrders, showSnapshot, tickAll } from "./tickets.js";
import { loadMenu, showSoldOutIds } from "./menu.js";
import { loadTables, loadTablesSoon } from "./tables.js";
import { setSignInClock, showSignIns, tickSignIns } from "./signins.js";

let everOpen = false; // the feed was open before: a new snapshot means it was away

function onLive(msg) {
  if (typeof msg.now === "number") {
    setHubClock(msg.now);
    setSignInClock(msg.now);
  }
  if (msg.type === "snapshot") {
    if (msg.staff) $("staff").textContent = msg.staff;
    if (Array.isArray(msg.orders)) showSnapshot(msg.orders);
    if (Array.isArray(msg.sold_out)) showSoldOutIds(msg.sold_out);
    if (Array.isArray(msg.sign_ins)) showSignIns(msg.sign_ins);
    if (everOpen) loadTables(); // missed while away
    everOpen = true;
  } else if (msg.type === "orders" && Array.isArray(msg.orders)) {
    showOrders(msg.orders);
    loadTablesSoon();
  } else if (msg.type === "config") {
    loadMenu(); // a new menu was pushed
  } else if (msg.type === "menu" && Array.isArray(msg.sold_out)) {
    showSoldOutIds(msg.sold_out);
  } else if (msg.type === "sign_ins" && Array.isArray(msg.sign_ins)) {
    showSignIns(msg.sign_ins); // a member asks to sign in at a table, or a waiter decided
  } else if (msg.type === "paid" || msg.type === "refunded") {
    loadTablesSoon(); // paid on another tablet: the table's bill is gone
  }
  // calls, devices, seen, commands: the other pages' business
}

$("logout").addEventListener("click", logout);
showRole();
setInterval(() => {
  tickAll();
  tickSignIns();
}, 1000);
setInterval(loadTables, 30000);
placeAll();
loadMenu();
loadTables();
followBoard(onLive, LOGIN);
