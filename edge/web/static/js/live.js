// Live feeds from the hub: a WebSocket that comes back by itself (backoff, optional jitter) and
// hands over JSON messages; and the staff pages' feed with its "Live / Reconnecting" mark.
import { $ } from "./dom.js";
import { BOTH } from "./i18n.js";

export function liveFeed(path, { onOpen, onMessage, onClose, firstRetryMs = 500, maxRetryMs = 10000, jitterMs = 0 }) {
  let ws = null;
  let retryMs = firstRetryMs;
  let timer = 0;
  let stopped = false;
  let opened = false;

  const later = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(connect, retryMs + Math.random() * jitterMs);
    retryMs = Math.min(retryMs * 2, maxRetryMs);
  };

  function connect() {
    clearTimeout(timer);
    if (stopped || (ws && ws.readyState <= WebSocket.OPEN)) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let sock;
    try {
      sock = new WebSocket(`${proto}://${location.host}${path}`);
    } catch (e) {
      later();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      retryMs = firstRetryMs;
      const again = opened; // open before: something may have been missed while away
      opened = true;
      if (onOpen) onOpen(again);
    };
    sock.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(msg);
    };
    sock.onclose = (ev) => {
      if (ws === sock) ws = null;
      if (onClose) onClose(ev);
      later();
    };
  }

  return {
    connect,
    // Now rather than at the next retry (the phone woke up, the network came back).
    reconnect() {
      retryMs = firstRetryMs;
      connect();
    },
    // For good: no more retries, and no more callbacks (the page may be gone).
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (!ws) return;
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close();
      ws = null;
    },
    get connected() {
      return ws !== null;
    },
  };
}

// The staff pages' feed: the board's WebSocket, the "Live / Reconnecting" mark (#link), retries
// that back off to 10 s, and the login page once the session is gone (code 1008).
export function followBoard(onMessage, loginUrl) {
  const link = $("link");
  const setLink = (up) => {
    link.textContent = up ? BOTH.live : BOTH.reconnecting;
    link.classList.toggle("down", !up);
  };
  const feed = liveFeed("/ws/board", {
    onOpen: () => setLink(true),
    onMessage,
    onClose: (ev) => {
      setLink(false);
      if (ev.code === 1008) {
        feed.stop();
        location.href = loginUrl;
      }
    },
  });
  feed.connect();
  return feed;
}
