// Calibration walk-through: measure the table plane, show each target full screen, wait for the index finger's
// touch_down, post the fingertip position, then solve and show the reprojection error.
import { api, connect, params } from "./common.js";

const canvas = document.getElementById("targets");
const ctx = canvas.getContext("2d");
const stepEl = document.getElementById("step");
const resultEl = document.getElementById("result");
const guide = document.getElementById("guide");
const cal = (window.depthhandCalibration = { phase: "idle", index: 0, targets: [], result: null, error: null });
let waitingTouch = false;

function drawTargets() {
  canvas.width = innerWidth;
  canvas.height = innerHeight;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  cal.targets.forEach(([x, y], i) => {
    const active = i === cal.index && cal.phase === "targets";
    ctx.strokeStyle = i < cal.index ? "#2a6" : active ? "#fff" : "#444";
    ctx.lineWidth = active ? 4 : 2;
    const r = active ? 40 : 16;
    ctx.beginPath(); ctx.moveTo(x - r, y); ctx.lineTo(x + r, y); ctx.moveTo(x, y - r); ctx.lineTo(x, y + r); ctx.stroke();
    ctx.beginPath(); ctx.arc(x, y, r / 2, 0, 2 * Math.PI); ctx.stroke();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run() {
  try {
    guide.classList.add("running");
    cal.phase = "plane";
    stepEl.textContent = "Measuring the table plane — keep the table clear…";
    await api("api/calibration/plane", "POST", { frames: 10 });
    for (let i = 0; i < 200; i++) {
      const st = await api("api/status");
      if (st.plane_fit && st.plane_fit.state === "done") break;
      await sleep(100);
    }
    const session = await api("api/calibration/session", "POST", { width: innerWidth, height: innerHeight, rows: 3, cols: 3 });
    cal.targets = session.targets;
    cal.index = 0;
    cal.phase = "targets";
    stepEl.textContent = `Touch target 1 of ${cal.targets.length}`;
    waitingTouch = true;
    drawTargets();
  } catch (err) {
    cal.error = String(err);
    stepEl.textContent = `Error: ${err}`;
  }
}

async function onTouch(msg) {
  if (!waitingTouch || msg.type !== "touch_down" || msg.finger !== "index") return;
  waitingTouch = false;
  try {
    await api("api/calibration/points", "POST", { index: cal.index, xyz_mm: msg.xyz_mm });
    cal.index++;
    drawTargets();
    if (cal.index < cal.targets.length) {
      stepEl.textContent = `Touch target ${cal.index + 1} of ${cal.targets.length}`;
      waitingTouch = true;
      return;
    }
    cal.phase = "solving";
    const res = await api("api/calibration/solve", "POST", {});
    cal.result = res;
    cal.phase = "done";
    const e = res.errors.H || res.errors.P;
    stepEl.textContent = `Done: reprojection error RMS ${e.rms_px.toFixed(2)} px, max ${e.max_px.toFixed(2)} px`;
    resultEl.textContent = JSON.stringify(res.errors, null, 1);
  } catch (err) {
    cal.error = String(err);
    stepEl.textContent = `Error: ${err}`;
  }
}

connect({ touch_down: onTouch, event: () => {}, frame: () => {}, hello: () => {}, depth: () => {} },
  (s) => { if (cal.phase === "idle") stepEl.textContent = s; });
document.getElementById("start").onclick = () => {
  if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
  run();
};
addEventListener("resize", drawTargets);
drawTargets();
if (params.get("auto") === "1") run();
