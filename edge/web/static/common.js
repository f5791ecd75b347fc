"use strict";
// Shared by the diner's page and the kitchen page (loaded before each).

// An element with its text set as text: whatever a diner typed never becomes markup.
function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function money(fen) {
  const a = Math.abs(Math.round(fen || 0));
  return `${fen < 0 ? "-" : ""}¥${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}
