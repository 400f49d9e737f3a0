// Projector page: shown full screen on the projector, it draws what touches do in projector pixels (the events'
// projector_px, mapped by the server through the calibration in the hello). A touch-down inside a toolbar button
// presses it; any other touch paints a stroke that follows its touch_move events; hovering fingertips are rings
// (smaller as the finger comes closer). The canvas has the projector's resolution, so a canvas pixel is a projector
// pixel. Without a projector calibration it says so. window.depthhandProjector exposes what was drawn (tests).
import { connect } from "./common.js";

const BUTTONS = [
  { id: "clear", label: "clear", kind: "action" },
  { id: "red", label: "red", kind: "colour", rgb: "#ff3b30" },
  { id: "green", label: "green", kind: "colour", rgb: "#30d158" },
  { id: "blue", label: "blue", kind: "colour", rgb: "#0a84ff" },
  { id: "yellow", label: "yellow", kind: "colour", rgb: "#ffd60a" },
  { id: "erase", label: "eraser", kind: "toggle" },
];
// Toolbar layout for a 1280×800 projector, scaled by min(width / 1280, height / 800); src/depthhand/synth/
// projector_user.py (the scripted user of this page) mirrors it.
const ORIGIN = [24, 24];
const SIZE = [110, 70];
const GAP = 16;
const BRUSH = 8; // stroke radius, px at scale 1
const ERASER = 22;
const BACKGROUND = "#000";

const paint = document.getElementById("paint");
const ui = document.getElementById("ui");
const statusEl = document.getElementById("status");
const pctx = paint.getContext("2d", { willReadFrequently: true });
const uctx = ui.getContext("2d");
const st = (window.depthhandProjector = {
  width: 0, height: 0, scale: 1, calibration: null, calibrated: false, waiting: true, connection: "connecting…",
  colour: "red", erase: false, buttons: [], strokes: [], pressed: [], hover: [], touching: [],
  events: 0, frames: 0, clears: 0, ignored: 0,
});
const live = new Map(); // contact → its stroke, or null for a contact that pressed a button
let latest = null;
let flash = null;
let uiDirty = true;

const contactKey = (m) => `${m.track_id}/${m.finger}/${m.contact_id}`;
const colourOf = (id) => BUTTONS.find((b) => b.id === id).rgb;

function layout() {
  const s = (st.scale = Math.min(st.width / 1280, st.height / 800));
  st.buttons = BUTTONS.map((b, i) => ({
    id: b.id, label: b.label, kind: b.kind, rgb: b.rgb || null, active: false,
    x: (ORIGIN[0] + i * (SIZE[0] + GAP)) * s, y: ORIGIN[1] * s, w: SIZE[0] * s, h: SIZE[1] * s,
  }));
  refreshActive();
}

function refreshActive() {
  for (const b of st.buttons) b.active = b.kind === "colour" ? b.id === st.colour && !st.erase : b.kind === "toggle" && st.erase;
  uiDirty = true;
}

function buttonAt(x, y) {
  return st.buttons.find((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) || null;
}

function setSize(w, h) {
  w = Math.max(1, Math.round(w));
  h = Math.max(1, Math.round(h));
  if (w === st.width && h === st.height) return;
  st.width = paint.width = ui.width = w;
  st.height = paint.height = ui.height = h;
  layout();
  redraw();
}

// --- paint layer -------------------------------------------------------------------------------------------------
const radius = (s) => (s.erase ? ERASER : BRUSH) * st.scale;
function drawDot(s, p) {
  pctx.fillStyle = s.erase ? BACKGROUND : s.rgb;
  pctx.beginPath();
  pctx.arc(p[0], p[1], radius(s), 0, 2 * Math.PI);
  pctx.fill();
}
function drawSegment(s, a, b) {
  pctx.strokeStyle = s.erase ? BACKGROUND : s.rgb;
  pctx.lineWidth = 2 * radius(s);
  pctx.lineCap = "round";
  pctx.beginPath();
  pctx.moveTo(a[0], a[1]);
  pctx.lineTo(b[0], b[1]);
  pctx.stroke();
}
function clearPaint() {
  pctx.fillStyle = BACKGROUND;
  pctx.fillRect(0, 0, paint.width, paint.height);
}
function redraw() {
  clearPaint();
  for (const s of st.strokes) {
    drawDot(s, s.points[0]);
    for (let i = 1; i < s.points.length; i++) drawSegment(s, s.points[i - 1], s.points[i]);
  }
  uiDirty = true;
}

// --- touches -----------------------------------------------------------------------------------------------------
function press(b, p, m) {
  if (b.kind === "action") {
    st.strokes = [];
    for (const k of live.keys()) live.set(k, null); // contacts still down stop painting
    st.clears++;
    clearPaint();
  } else if (b.kind === "colour") {
    st.colour = b.id;
    st.erase = false;
  } else {
    st.erase = !st.erase;
  }
  refreshActive();
  st.pressed.push({ button: b.id, px: [p[0], p[1]], contact_id: m.contact_id, finger: m.finger, active: b.active });
  flash = { id: b.id, until: performance.now() + 300 };
}

function onTouch(m) {
  st.events++;
  const p = m.projector_px;
  const key = contactKey(m);
  if (!st.calibrated || !p) {
    st.ignored++;
    return;
  }
  if (m.type === "touch_down") {
    const b = buttonAt(p[0], p[1]);
    if (b) {
      press(b, p, m);
      live.set(key, null);
      return;
    }
    const s = { contact_id: m.contact_id, track_id: m.track_id, finger: m.finger, colour: st.erase ? null : st.colour,
      rgb: st.erase ? null : colourOf(st.colour), erase: st.erase, points: [[p[0], p[1]]], done: false };
    st.strokes.push(s);
    live.set(key, s);
    drawDot(s, p);
    return;
  }
  const s = live.get(key);
  if (m.type === "touch_up") live.delete(key);
  if (!s) return;
  const last = s.points[s.points.length - 1];
  if (Math.hypot(p[0] - last[0], p[1] - last[1]) > 0.25) {
    s.points.push([p[0], p[1]]);
    drawSegment(s, last, p);
  }
  if (m.type === "touch_up") s.done = true;
}

// --- overlay: toolbar, hover rings, status -----------------------------------------------------------------------
function drawUi() {
  uctx.clearRect(0, 0, ui.width, ui.height);
  if (!st.calibrated) return;
  const s = st.scale;
  const now = performance.now();
  uctx.font = `${Math.round(18 * s)}px system-ui, sans-serif`;
  uctx.textAlign = "center";
  uctx.textBaseline = "middle";
  for (const b of st.buttons) {
    uctx.fillStyle = b.rgb || (b.active ? "#666" : "#2a2a2a");
    uctx.fillRect(b.x, b.y, b.w, b.h);
    uctx.lineWidth = (b.active ? 5 : 1.5) * s;
    uctx.strokeStyle = flash && flash.id === b.id && now < flash.until ? "#0ff" : b.active ? "#fff" : "#777";
    uctx.strokeRect(b.x, b.y, b.w, b.h);
    uctx.fillStyle = b.rgb ? "#000" : "#eee";
    uctx.fillText(b.label, b.x + b.w / 2, b.y + b.h / 2);
  }
  uctx.lineWidth = 2.5 * s;
  for (const [x, y, h] of st.hover) {
    uctx.strokeStyle = "rgba(255,255,255,0.8)";
    uctx.beginPath();
    uctx.arc(x, y, (10 + 0.6 * Math.max(0, h)) * s, 0, 2 * Math.PI);
    uctx.stroke();
  }
  for (const [x, y] of st.touching) {
    uctx.strokeStyle = "#0ff";
    uctx.beginPath();
    uctx.arc(x, y, (BRUSH + 5) * s, 0, 2 * Math.PI);
    uctx.stroke();
  }
}

function onFrame(msg) {
  st.frames++;
  latest = msg;
  uiDirty = true;
}

function tick() {
  if (latest) {
    const hover = [];
    const touching = [];
    for (const hand of latest.hands || []) {
      for (const f of Object.values(hand.fingers || {})) {
        if (!f.projector_px) continue;
        if (f.state === "hover") hover.push([f.projector_px[0], f.projector_px[1], f.height_mm]);
        else if (f.state === "touch") touching.push([f.projector_px[0], f.projector_px[1]]);
      }
    }
    st.hover = hover;
    st.touching = touching;
    latest = null;
  }
  if (flash && performance.now() > flash.until + 50) {
    flash = null;
    uiDirty = true;
  }
  if (uiDirty) {
    uiDirty = false;
    drawUi();
  }
  requestAnimationFrame(tick);
}

function showStatus() {
  statusEl.classList.toggle("alert", !st.calibrated && !st.waiting);
  statusEl.replaceChildren();
  if (st.connection !== "connected") statusEl.textContent = st.connection;
  else if (st.waiting) statusEl.textContent = "waiting for the pipeline…";
  else if (!st.calibrated) {
    const link = document.createElement("a");
    link.href = "calibrate";
    link.textContent = "/calibrate";
    statusEl.append("not calibrated: open ", link);
  }
}

function onHello(msg) {
  const cal = msg.calibration;
  const proj = cal && cal.projector;
  st.waiting = !!msg.waiting;
  st.calibration = cal || null;
  st.calibrated = !!(proj && (cal.P || (cal.H && cal.plane)));
  if (st.calibrated) setSize(proj.width, proj.height);
  else setSize(innerWidth, innerHeight);
  for (const s of live.values()) if (s) s.done = true; // a reconnect: the contacts' ends were missed
  live.clear();
  uiDirty = true;
  showStatus();
}

addEventListener("resize", () => {
  if (!st.calibrated) setSize(innerWidth, innerHeight);
});
addEventListener("dblclick", () => {
  if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
});
setSize(innerWidth, innerHeight);
requestAnimationFrame(tick);
connect(
  {
    hello: onHello,
    frame: onFrame,
    touch_down: onTouch,
    touch_move: onTouch,
    touch_up: onTouch,
    event: () => { st.events++; },
  },
  (s) => {
    st.connection = s;
    showStatus();
  },
);
