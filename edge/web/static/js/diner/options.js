// The options sheet: a dish's choices (spice, size…), how many, a note, then into the cart.
import { $, h } from "../dom.js";
import { t, nm, alt, named, money, onLangChange } from "../i18n.js";
import { state, on, unitPrice } from "./state.js";
import { msg, openSheet, closeSheet } from "./ui.js";
import { addToCart } from "./cart.js";

const sheet = { dish: null, qty: 1 }; // what the open sheet shows

const isOpen = () => sheet.dish && !$("options").hidden;

// The "+" on a dish: straight into the cart, or its options first.
export function onAdd(id) {
  const d = state.dishes.get(id);
  if (!d || d.sold_out || !state.tableOpen) return;
  if (state.pending) {
    msg(state.sending ? t("wait") : t("notConfirmed"), state.sending ? "" : "error");
    return;
  }
  if (d.options && d.options.length) openOptions(id, false);
  else addToCart(id, 1, {}, "");
}

// keep: the sheet is drawn again (another language) with what the diner chose so far.
function openOptions(id, keep) {
  const d = state.dishes.get(id);
  if (!d) return;
  const form = $("options");
  const before = keep ? new FormData(form) : null;
  sheet.dish = d;
  if (!keep) sheet.qty = 1;
  $("opt-title").textContent = nm(d);
  $("opt-desc").textContent = [alt(d), money(d.price_fen)].filter(Boolean).join(" · ");
  const fields = d.options.map((o) => {
    const fs = h("fieldset", "opt");
    fs.dataset.option = o.id;
    const lg = h("legend", null, nm(o));
    lg.append(h("small", o.required ? "req" : null, o.required ? t("required") : t("optional")));
    fs.append(lg);
    const choices = o.required ? o.choices : [{ id: "", ...named("none"), price_fen: 0 }, ...o.choices];
    for (const c of choices) {
      const label = h("label", "choice");
      const input = h("input");
      input.type = "radio";
      input.name = `opt-${o.id}`;
      input.value = c.id;
      if (before ? before.get(input.name) === c.id : !o.required && c.id === "") input.checked = true;
      label.append(input, h("span", null, nm(c)));
      if (c.price_fen) label.append(h("span", "delta", `${c.price_fen > 0 ? "+" : ""}${money(c.price_fen)}`));
      fs.append(label);
    }
    return fs;
  });
  $("opt-fields").replaceChildren(...fields);
  if (!keep) $("opt-note").value = "";
  $("options-add").disabled = !!d.sold_out || !state.tableOpen;
  updateOptions();
  if (!keep) openSheet("options");
}

function chosen() {
  const data = new FormData($("options"));
  const out = {};
  for (const o of sheet.dish.options) {
    const v = data.get(`opt-${o.id}`);
    if (v) out[o.id] = v;
  }
  return out;
}

function updateOptions() {
  if (!sheet.dish) return;
  $("opt-qty").textContent = String(sheet.qty);
  $("opt-minus").disabled = sheet.qty <= 1;
  $("opt-plus").disabled = sheet.qty >= state.limits.max_qty;
  $("options-add").textContent = `${t("add")} · ${money(unitPrice(sheet.dish, chosen()) * sheet.qty)}`;
  for (const fs of $("opt-fields").children) {
    if (new FormData($("options")).get(`opt-${fs.dataset.option}`)) fs.classList.remove("missing");
  }
}

$("options").addEventListener("change", updateOptions);
$("opt-minus").addEventListener("click", () => { sheet.qty = Math.max(1, sheet.qty - 1); updateOptions(); });
$("opt-plus").addEventListener("click", () => { sheet.qty = Math.min(state.limits.max_qty, sheet.qty + 1); updateOptions(); });
$("options").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const d = sheet.dish;
  if (!d || d.sold_out || !state.tableOpen) return;
  const opts = chosen();
  const missing = d.options.filter((o) => o.required && !opts[o.id]);
  if (missing.length) {
    for (const o of missing) {
      const fs = $("opt-fields").querySelector(`[data-option="${CSS.escape(o.id)}"]`);
      if (fs) fs.classList.add("missing");
    }
    msg(t("choose", nm(missing[0])), "error");
    return;
  }
  if (addToCart(d.id, sheet.qty, opts, $("opt-note").value)) closeSheet();
});

on("dishes", () => {
  if (isOpen()) $("options-add").disabled = !!sheet.dish.sold_out || !state.tableOpen;
});
onLangChange(() => {
  if (state.menu && isOpen()) openOptions(sheet.dish.id, true);
});
