// Live viewer: 3-D skeletons (three.js, WebGL; a 2-D canvas fallback without WebGL), depth preview, touches, fps.
import * as THREE from "three";
import { connect } from "./common.js";

const state = (window.depthhand = { frames: 0, renderedFrames: 0, bones: 0, joints: 0, lastSeq: 0, events: 0,
  touches: 0, latencyMs: 0, fps: 0, renderer: "none", hello: null });
const canvas = document.getElementById("view");
const statsEl = document.getElementById("stats");
const eventsEl = document.getElementById("events");
const depthEl = document.getElementById("depth");
const COLORS = [0x4fc3f7, 0xffb74d, 0x81c784, 0xe57373];
const MAX_HANDS = 4;
let latest = null;
let dirty = false;
let bones = [];
let nJoints = 21;
const recv = [];

// camera frame (x right, y down, z forward, mm) -> three.js (y up, looking down -z, metres)
const toThree = (p) => [p[0] / 1000, -p[1] / 1000, -p[2] / 1000];

let draw;
try {
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(window.devicePixelRatio);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x111111);
  const camera = new THREE.PerspectiveCamera(50, 1, 0.01, 10);
  camera.position.set(0.15, 0.25, 0.1);
  camera.lookAt(0, 0, -0.85);
  scene.add(new THREE.AmbientLight(0xffffff, 0.6));
  const sun = new THREE.DirectionalLight(0xffffff, 1.2);
  sun.position.set(1, 2, 1);
  scene.add(sun);
  const sphere = new THREE.SphereGeometry(0.006, 10, 8);
  const jointMesh = new THREE.InstancedMesh(sphere, new THREE.MeshStandardMaterial({ color: 0xffffff }), MAX_HANDS * 32);
  jointMesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
  scene.add(jointMesh);
  const bonePos = new Float32Array(MAX_HANDS * 32 * 2 * 3);
  const boneCol = new Float32Array(MAX_HANDS * 32 * 2 * 3);
  const boneGeo = new THREE.BufferGeometry();
  boneGeo.setAttribute("position", new THREE.BufferAttribute(bonePos, 3));
  boneGeo.setAttribute("color", new THREE.BufferAttribute(boneCol, 3));
  const boneLines = new THREE.LineSegments(boneGeo, new THREE.LineBasicMaterial({ vertexColors: true }));
  scene.add(boneLines);
  // the table plane (from the calibration in the hello) as a grid, and recent touches as red discs
  let grid = null;
  const touchMarks = [];
  const markGeo = new THREE.CircleGeometry(0.012, 24);
  state.setPlane = (plane) => {
    if (grid) scene.remove(grid);
    grid = null;
    if (!plane) return;
    const n = new THREE.Vector3(plane[0], -plane[1], -plane[2]).normalize();
    const p = toThree([-plane[3] * plane[0], -plane[3] * plane[1], -plane[3] * plane[2]]);
    grid = new THREE.GridHelper(0.8, 16, 0x446644, 0x333333);
    grid.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), n);
    grid.position.set(p[0], p[1], p[2]);
    scene.add(grid);
    state.planeNormal = n;
  };
  state.addTouch = (xyz) => {
    const mark = new THREE.Mesh(markGeo, new THREE.MeshBasicMaterial({ color: 0xff3030, side: THREE.DoubleSide }));
    const q = toThree(xyz);
    mark.position.set(q[0], q[1], q[2]);
    if (state.planeNormal) mark.quaternion.setFromUnitVectors(new THREE.Vector3(0, 0, 1), state.planeNormal);
    scene.add(mark);
    touchMarks.push(mark);
    while (touchMarks.length > 10) scene.remove(touchMarks.shift());
  };
  const m = new THREE.Matrix4();
  const c = new THREE.Color();
  const resize = () => {
    renderer.setSize(innerWidth, innerHeight, false);
    camera.aspect = innerWidth / innerHeight;
    camera.updateProjectionMatrix();
  };
  addEventListener("resize", resize);
  resize();
  draw = (msg) => {
    let j = 0;
    let b = 0;
    msg.hands.slice(0, MAX_HANDS).forEach((hand, h) => {
      c.setHex(COLORS[h % COLORS.length]);
      hand.joints_xyz_mm.forEach((p, k) => {
        const q = toThree(p);
        const tip = hand.fingers && Object.values(hand.fingers).find((f) => state.hello && k === tipIndex(f));
        m.makeTranslation(q[0], q[1], q[2]);
        jointMesh.setMatrixAt(j, m);
        jointMesh.setColorAt(j, tip && tip.state === "touch" ? new THREE.Color(0xff3030) : c);
        j++;
      });
      for (const [a, z] of bones) {
        bonePos.set(toThree(hand.joints_xyz_mm[a]), b * 6);
        bonePos.set(toThree(hand.joints_xyz_mm[z]), b * 6 + 3);
        boneCol.set([c.r, c.g, c.b, c.r, c.g, c.b], b * 6);
        b++;
      }
    });
    jointMesh.count = j;
    jointMesh.instanceMatrix.needsUpdate = true;
    if (jointMesh.instanceColor) jointMesh.instanceColor.needsUpdate = true;
    boneGeo.setDrawRange(0, b * 2);
    boneGeo.attributes.position.needsUpdate = true;
    boneGeo.attributes.color.needsUpdate = true;
    renderer.render(scene, camera);
    return b;
  };
  state.renderer = "webgl";
} catch (err) {
  // No WebGL (e.g. a headless browser without GPU emulation): orthographic top view on a 2-D canvas.
  const ctx = canvas.getContext("2d");
  draw = (msg) => {
    canvas.width = innerWidth;
    canvas.height = innerHeight;
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const s = Math.min(canvas.width, canvas.height) / 700;
    const px = (p) => [canvas.width / 2 + p[0] * s, canvas.height / 2 + p[1] * s];
    let b = 0;
    msg.hands.forEach((hand, h) => {
      ctx.strokeStyle = "#" + COLORS[h % COLORS.length].toString(16).padStart(6, "0");
      ctx.lineWidth = 3;
      for (const [a, z] of bones) {
        const [x0, y0] = px(hand.joints_xyz_mm[a]);
        const [x1, y1] = px(hand.joints_xyz_mm[z]);
        ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
        b++;
      }
    });
    return b;
  };
  state.renderer = "canvas2d";
}

function tipIndex(finger) { return finger && finger.__index; }

function frame() {
  if (dirty && latest) {
    dirty = false;
    state.bones = draw(latest);
    state.joints = latest.hands.reduce((n, h) => n + h.joints_xyz_mm.length, 0);
    state.renderedFrames++;
  }
  const now = performance.now();
  while (recv.length && recv[0] < now - 1000) recv.shift();
  state.fps = recv.length;
  statsEl.textContent = `renderer ${state.renderer}\nframes ${state.frames} (drawn ${state.renderedFrames})\n` +
    `fps ${state.fps}  latency ${state.latencyMs.toFixed(1)} ms\nhands ${latest ? latest.hands.length : 0}` +
    `  bones drawn ${state.bones}\nevents ${state.events}  touches ${state.touches}` +
    (state.hello && !state.plane ? "\nno table plane yet: run the calibration for touches" : "") +
    (state.source && state.source.state !== "running" ? `\nsource ${state.source.state}${state.source.last_error ? ": " + state.source.last_error : ""}` : "");
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

function logEvent(msg) {
  state.events++;
  if (msg.type === "touch_down") {
    state.touches++;
    if (state.addTouch) state.addTouch(msg.xyz_mm);
  }
  if (msg.type.endsWith("_move")) return;
  const li = document.createElement("li");
  const where = msg.projector_px ? ` projector px ${msg.projector_px.map((v) => v.toFixed(0)).join(",")}` : "";
  li.textContent = `${msg.type} hand ${msg.track_id} ${msg.finger} #${msg.contact_id} h ${msg.height_mm} mm${where}`;
  eventsEl.prepend(li);
  while (eventsEl.children.length > 12) eventsEl.lastChild.remove();
}

connect(
  {
    hello: (msg) => {
      state.hello = msg;
      state.source = msg.source || null;
      if (msg.skeleton) { bones = msg.skeleton.bones; nJoints = msg.skeleton.joints.length; }
      const plane = msg.calibration && msg.calibration.plane;
      state.plane = plane || null;
      if (state.setPlane) state.setPlane(plane);
    },
    frame: (msg) => {
      state.frames++;
      state.lastSeq = msg.seq;
      state.latencyMs = (Date.now() * 1000 - msg.t_send_us) / 1000;
      recv.push(performance.now());
      if (state.hello && state.hello.skeleton) {
        for (const hand of msg.hands) for (const [name, f] of Object.entries(hand.fingers || {})) f.__index = state.hello.skeleton.tips[name];
      }
      latest = msg;
      dirty = true;
    },
    depth: (msg) => { depthEl.src = `data:image/png;base64,${msg.png_b64}`; state.depthFrames = (state.depthFrames || 0) + 1; },
    source: (msg) => { state.source = msg.source; },
    pong: () => {},
    event: logEvent,
  },
  (s) => { document.getElementById("conn").textContent = s; },
);
document.getElementById("callink").href = `calibrate${location.search}`;
