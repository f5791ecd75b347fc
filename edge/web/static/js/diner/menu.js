// The menu: loaded from the hub (again when it changes), drawn by category with chips that
// follow the scroll, sold-out marks and the table closed, live; how many of each are in the cart.
import { $, h } from "../dom.js";
import { t, nm, alt, pick, named, money, onLangChange } from "../i18n.js";
import { call } from "../api.js";
import { API, state, on, setMenu, cleanCart, setTableOpen, inCart } from "./state.js";
import { showInvalid } from "./ui.js";
import { onAdd } from "./options.js";

// true: loaded; false: this code is not valid (the page says so); null: try again later.
export async function loadMenu() {
  const r = await call("GET", `${API}/menu`);
  if (r.status === 403 || r.status === 404) {
    showInvalid();
    return false;
  }
  const data = r.ok ? r.data : null;
  if (!data || !Array.isArray(data.dishes)) return null;
  const changed = setMenu(data);
  $("table-name").textContent = t("table", data.table ? data.table.name : "");
  for (const id of ["opt-note", "order-note"]) $(id).maxLength = state.limits.note_max;
  if (changed) renderMenu();
  else for (const d of state.dishes.values()) updateDish(d);
  cleanCart();
  setTableOpen(!data.table || data.table.open !== false);
  return true;
}

function renderMenu() {
  if (!state.menu) return;
  const groups = new Map();
  for (const c of state.menu.categories || []) groups.set(c.id, { cat: c, list: [] });
  for (const d of state.menu.dishes) {
    if (!groups.has(d.category)) groups.set(d.category, { cat: { id: d.category, ...named("other") }, list: [] });
    groups.get(d.category).list.push(d);
  }
  const sections = [];
  const chips = [];
  for (const { cat, list } of groups.values()) {
    if (!list.length) continue;
    const sec = h("section", "cat");
    sec.dataset.cat = cat.id;
    sec.append(h("h2", null, nm(cat)), ...list.map(dishCard));
    const chip = h("button", "chip", nm(cat));
    chip.type = "button";
    chip.addEventListener("click", () => {
      const y = sec.getBoundingClientRect().top + window.scrollY - $("top").offsetHeight + 1;
      window.scrollTo({ top: y, behavior: "smooth" });
    });
    sections.push(sec);
    chips.push(chip);
  }
  if (!sections.length) sections.push(h("p", "empty", "—"));
  $("menu").replaceChildren(...sections);
  $("cats").replaceChildren(...chips);
  for (const d of state.dishes.values()) updateDish(d);
  markChip();
}

function dishCard(d) {
  const card = h("article", "dish");
  card.dataset.dish = d.id;
  if (d.picture) {
    const box = h("div", "pic");
    const img = h("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.alt = "";
    img.width = 88;
    img.height = 88;
    img.src = d.picture;
    box.append(img);
    card.append(box);
  }
  const info = h("div", "info");
  info.append(h("h3", "name", nm(d)));
  if (alt(d) && alt(d) !== nm(d)) info.append(h("p", "alt", alt(d)));
  const desc = pick(d, "desc");
  if (desc) info.append(h("p", "desc", desc));
  const buy = h("div", "buy");
  const add = h("button", "add", "+");
  add.type = "button";
  add.setAttribute("aria-label", `${t("add")}: ${nm(d)}`);
  add.addEventListener("click", () => onAdd(d.id));
  buy.append(h("span", "price", money(d.price_fen)), h("span", "so", t("soldOut")), h("span", "in-cart"), add);
  info.append(buy);
  card.append(info);
  return card;
}

const dishEl = (id) => document.querySelector(`#menu [data-dish="${CSS.escape(id)}"]`);

function showInCart(card, id) {
  const n = inCart(id);
  const badge = card.querySelector(".in-cart");
  badge.textContent = n ? `×${n}` : "";
  badge.hidden = !n;
}

function updateDish(d) {
  const card = dishEl(d.id);
  if (!card) return;
  card.classList.toggle("sold-out", !!d.sold_out);
  card.querySelector(".add").disabled = !!d.sold_out || !state.tableOpen;
  showInCart(card, d.id);
}

function markChip() {
  const secs = document.querySelectorAll("#menu .cat");
  const chips = $("cats").children;
  const edge = $("top").offsetHeight + 8;
  let active = 0;
  secs.forEach((sec, i) => { if (sec.getBoundingClientRect().top <= edge) active = i; });
  for (let i = 0; i < chips.length; i++) chips[i].classList.toggle("on", i === active);
  const chip = chips[active];
  if (chip) {
    const nav = $("cats");
    if (chip.offsetLeft < nav.scrollLeft || chip.offsetLeft + chip.offsetWidth > nav.scrollLeft + nav.clientWidth)
      nav.scrollLeft = chip.offsetLeft - 12;
  }
}

let scrollQueued = false;
window.addEventListener("scroll", () => {
  if (scrollQueued || state.invalid) return; // invalid: the menu is gone
  scrollQueued = true;
  requestAnimationFrame(() => { scrollQueued = false; markChip(); });
}, { passive: true });

on("cart", () => {
  for (const d of state.dishes.values()) {
    const card = dishEl(d.id);
    if (card) showInCart(card, d.id);
  }
});
on("dishes", (changed) => { for (const d of changed) updateDish(d); });
on("table", (open) => {
  $("closed-banner").hidden = open;
  for (const d of state.dishes.values()) updateDish(d);
});
onLangChange(() => {
  if (!state.menu) return;
  $("table-name").textContent = t("table", state.menu.table ? state.menu.table.name : "");
  renderMenu();
});
