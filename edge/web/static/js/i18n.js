// Chinese and English for every page, in one place. The diner's page shows one language at a
// time, with a switch the phone remembers; the staff pages show both side by side ("实时 Live").
// A page adds its own strings with define(); t() reads them in the current language.
import { saved } from "./dom.js";

const LANG_KEY = "smartstore.lang";
const STRINGS = { zh: {}, en: {} };
const listeners = [];

let lang = saved.get(LANG_KEY);
if (lang !== "zh" && lang !== "en") lang = /^zh/i.test(navigator.language || "") ? "zh" : "en";

export const currentLang = () => lang;

export function define(strings) {
  Object.assign(STRINGS.zh, strings.zh);
  Object.assign(STRINGS.en, strings.en);
}

export function t(key, ...args) {
  const v = STRINGS[lang][key];
  return typeof v === "function" ? v(...args) : v;
}

// One of the page's strings in both languages, shaped like the hub's names.
export const named = (key) => ({ name_zh: STRINGS.zh[key], name_en: STRINGS.en[key] });

// The hub's bilingual fields (name_zh/name_en, desc_zh/desc_en): the current language first.
export const pick = (o, field = "name") =>
  (lang === "zh" ? o[`${field}_zh`] || o[`${field}_en`] : o[`${field}_en`] || o[`${field}_zh`]) || "";
export const nm = (o) => pick(o, "name");
export const alt = (o) => (lang === "zh" ? o.name_en : o.name_zh) || ""; // the other language
export const joinList = (items) => items.join(lang === "zh" ? "、" : ", ");

export const onLangChange = (fn) => listeners.push(fn);

// The page's fixed texts (data-i18n: text, data-i18n-ph: placeholder, data-i18n-aria: label),
// then whatever the page draws itself (onLangChange).
export function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-ph]")) e.placeholder = t(e.dataset.i18nPh);
  for (const e of document.querySelectorAll("[data-i18n-aria]")) e.setAttribute("aria-label", t(e.dataset.i18nAria));
  if (STRINGS[lang].title) document.title = `${t("title")} · smartstore`;
  for (const fn of listeners) fn(lang);
}

export function setLang(next) {
  lang = next;
  saved.set(LANG_KEY, lang);
  applyLang();
}

// The language button: it names the other language and switches to it.
export function languageSwitch(button) {
  onLangChange(() => { button.textContent = lang === "zh" ? "EN" : "中文"; });
  button.addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
}

// ---- both languages at once (the staff pages) ----

export const BOTH = {
  live: "实时 Live",
  reconnecting: "重新连接中 Reconnecting…",
  unreachable: "无法连接集线器 Cannot reach the hub",
  loginFailed: "登录失败 Login failed",
  retry: "重试 Retry",
  error: (status) => `出错了 Error (${status})`,
};

export const both = (o) => [o.name_zh, o.name_en].filter(Boolean).join(" / ");

export function money(fen) {
  const a = Math.abs(Math.round(fen || 0));
  return `${fen < 0 ? "-" : ""}¥${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

// How long something has waited: "2分5秒 2m 5s".
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}分${s % 60}秒 ${m}m ${s % 60}s` : `${s}秒 ${s}s`;
}

// How long ago: "3分钟前 3m ago".
export function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}秒前 ${s}s ago`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}分钟前 ${m}m ago` : `${Math.floor(m / 60)}小时前 ${Math.floor(m / 60)}h ago`;
}
