"use strict";
// Shared by the hub's pages (loaded before each page's own script).

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

// The staff pages' live feed: the board's WebSocket, the "Live / Reconnecting" mark (#link),
// retries that back off to 10 s, and the login page once the session is gone (code 1008).
function followBoard(onMessage, loginUrl) {
  const link = document.getElementById("link");
  let retryMs = 500;
  const setLink = (up) => {
    link.textContent = up ? "实时 Live" : "重新连接中 Reconnecting…";
    link.classList.toggle("down", !up);
  };
  const connect = () => {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/board`);
    ws.onopen = () => {
      retryMs = 500;
      setLink(true);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(msg);
    };
    ws.onclose = (ev) => {
      setLink(false);
      if (ev.code === 1008) {
        location.href = loginUrl;
        return;
      }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  };
  connect();
}
