// The menu's sold-out switches: a dish checked is sold out, on every diner's phone at once.
import { $, h } from "../dom.js";
import { both, money } from "../i18n.js";
import { api } from "./hub.js";

const menu = { data: null, soldOut: new Set() }; // the hub's menu; the dishes sold out now

export async function loadMenu() {
  const data = await api("GET", "/api/menu");
  if (!data || !Array.isArray(data.dishes)) return;
  menu.data = data;
  menu.soldOut = new Set(data.dishes.filter((d) => d.sold_out).map((d) => d.id));
  renderMenu();
}

function renderMenu() {
  if (!menu.data) return;
  const groups = new Map();
  for (const c of menu.data.categories || []) groups.set(c.id, { cat: c, list: [] });
  for (const d of menu.data.dishes) {
    if (!groups.has(d.category)) groups.set(d.category, { cat: { id: d.category, name_zh: d.category }, list: [] });
    groups.get(d.category).list.push(d);
  }
  const out = [];
  for (const { cat, list } of groups.values()) {
    if (!list.length) continue;
    const h3 = h("h3", null, both(cat));
    const ul = h("ul", "dishes");
    for (const d of list) {
      const li = h("li", "dish");
      li.dataset.dish = d.id;
      const label = h("label");
      const cb = h("input", "sold-out-toggle");
      cb.type = "checkbox";
      cb.addEventListener("change", () => setSoldOut(d.id, cb));
      const text = h("span", "dname");
      text.append(h("span", null, both(d)), h("small", null, money(d.price_fen)));
      label.append(cb, text, h("span", "state"));
      li.append(label);
      ul.append(li);
    }
    out.push(h3, ul);
  }
  if (!out.length) out.push(h("p", "empty", "菜单是空的 The menu is empty"));
  $("menu").replaceChildren(...out);
  showSoldOut();
}

function showSoldOut() {
  for (const li of document.querySelectorAll("#menu li.dish")) {
    const so = menu.soldOut.has(li.dataset.dish);
    const cb = li.querySelector(".sold-out-toggle");
    if (!cb.disabled) cb.checked = so;
    li.classList.toggle("sold-out", so);
    li.querySelector(".state").textContent = so ? "售罄 Sold out" : "有货 Available";
  }
}

async function setSoldOut(id, cb) {
  const want = cb.checked;
  cb.disabled = true;
  const data = await api("POST", `/api/menu/dishes/${encodeURIComponent(id)}/sold-out`, { sold_out: want });
  cb.disabled = false;
  if (data) {
    if (want) menu.soldOut.add(id);
    else menu.soldOut.delete(id);
  }
  showSoldOut();
}
// From the live feed: the dishes sold out now.
export function showSoldOutIds(ids) {
  menu.soldOut = new Set(ids);
  showSoldOut();
}
