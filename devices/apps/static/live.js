// The page's live channel to its app (the agent on this device): a WebSocket to /ws that comes
// back by itself. Every message is JSON with a "type"; on (re)connect the agent first sends
// what the page must know (status, config, menu or ready numbers, ...).
export function connect({ onMessage, onLink }) {
  let ws = null;
  let retryMs = 300;
  const open = () => {
    ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => {
      retryMs = 300;
      onLink(true);
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(msg);
    };
    ws.onclose = () => {
      ws = null;
      onLink(false);
      setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  open();
  return {
    send(msg) {
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(JSON.stringify(msg));
        return true;
      }
      return false;
    },
  };
}

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// A generated "ding-dong" (Web Audio: no sound file, nothing from the internet). Chromium
// plays it without a tap when started with --autoplay-policy=no-user-gesture-required;
// otherwise the first tap on the page unlocks it.
let audio = null;
export function chime() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const start = audio.currentTime + 0.02;
    [[880, 0], [660, 0.45]].forEach(([freq, at]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.5, start + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 1.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + at);
      osc.stop(start + at + 1.3);
    });
    return audio.state;
  } catch (e) {
    return "unavailable";
  }
}

// "locate": the whole screen flashes so staff find this device.
export function locate(seconds, label) {
  const box = $("locate");
  box.textContent = `这里 HERE · ${label}`;
  box.hidden = false;
  clearTimeout(locate.timer);
  locate.timer = setTimeout(() => { box.hidden = true; }, seconds * 1000);
}
