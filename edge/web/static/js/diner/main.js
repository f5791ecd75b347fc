// The diner's page, opened from the table's QR code (/t/{token}): menu, options, cart, placing
// an order safely over bad Wi-Fi, the table's orders, calling a waiter, all live. Anything the
// hub or a diner wrote goes in with textContent only.
import "./strings.js";
import { $, h, sleep } from "../dom.js";
import { t, applyLang, languageSwitch } from "../i18n.js";
import { TOKEN, state } from "./state.js";
import { showInvalid } from "./ui.js";
import { loadMenu } from "./menu.js";
import { renderCart, sendPending } from "./cart.js";
import "./orders.js";
import { loadMember } from "./member.js";
import { connect } from "./live.js";

async function firstLoad() {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
    const ok = await loadMenu();
    if (ok === false) return;
    if (ok) break;
    $("menu").replaceChildren(h("p", "empty", t("loadFail")));
    await sleep(wait);
  }
  if (state.pending) sendPending(); // a tap before a reload may have gone through: ask with its key
  connect();
  loadMember(); // "your usual" and "popular here now" above the menu
}

languageSwitch($("lang"));
applyLang();
renderCart();
if (TOKEN) firstLoad();
else showInvalid();
