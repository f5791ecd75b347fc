// The kitchen/orders page: open orders live from the board's WebSocket, with their print jobs;
// done, void and reprint; the menu's sold-out switches; tables open/close, paid and new QR codes.
import { $ } from "../dom.js";
import { logout } from "../api.js";
import { followBoard } from "../live.js";
import { LOGIN } from "./hub.js";
import { placeAll, setHubClock, showOrders, showSnapshot, tickAll } from "./tickets.js";
import { loadMenu, showSoldOutIds } from "./menu.js";
import { loadTables, loadTablesSoon } from "./tables.js";

let everOpen = false; // the feed was open before: a new snapshot means it was away

function onLive(msg) {
  if (typeof msg.now === "number") setHubClock(msg.now);
  if (msg.type === "snapshot") {
    if (msg.staff) $("staff").textContent = msg.staff;
    if (Array.isArray(msg.orders)) showSnapshot(msg.orders);
    if (Array.isArray(msg.sold_out)) showSoldOutIds(msg.sold_out);
    if (everOpen) loadTables(); // missed while away
    everOpen = true;
  } else if (msg.type === "orders" && Array.isArray(msg.orders)) {
    showOrders(msg.orders);
    loadTablesSoon();
  } else if (msg.type === "config") {
    loadMenu(); // a new menu was pushed
  } else if (msg.type === "menu" && Array.isArray(msg.sold_out)) {
    showSoldOutIds(msg.sold_out);
  }
  // calls, devices, seen, commands: the other pages' business
}

$("logout").addEventListener("click", logout);
setInterval(tickAll, 1000);
setInterval(loadTables, 30000);
placeAll();
loadMenu();
loadTables();
followBoard(onLive, LOGIN);
