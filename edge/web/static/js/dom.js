// The browser's small helpers every page shares: an element by id, an element with its text
// set as text (whatever a diner, a waiter or a device wrote never becomes markup), the page's
// message strip, and JSON kept on the phone.

export const $ = (id) => document.getElementById(id);

export function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The #message strip: kind is its class ("ok", "error"); it hides itself after ms (0: stays).
let messageTimer = 0;
export function message(text, kind, ms) {
  const m = $("message");
  m.textContent = text;
  m.className = kind || "";
  m.hidden = false;
  clearTimeout(messageTimer);
  if (ms !== 0) messageTimer = setTimeout(() => { m.hidden = true; }, ms);
}

// localStorage as JSON. Storage full or switched off: the page still works, without memory.
export const saved = {
  get(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  },
  set(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* no memory: nothing else to do */ }
  },
};
