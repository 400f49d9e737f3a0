"""``/projector`` in headless Chromium: scripted touches paint and press buttons at the right projector pixels.

The server runs the scripted projector user (``scripted://paint``) with the scripted installation's true calibration
installed. What the page should draw is computed here, independently of the server: the script's true contact
points (its ground truth, on the true table plane) through the true projector homography.
"""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import TOKEN, free_port, start_serve, stop
from .test_browser import browser  # noqa: F401  (the headless Chromium fixture)

TOLERANCE_PX = 2.0
HALF = 30  # pixel windows of (2 HALF + 1)² read back around each expected point

# Waits for a whole cycle of the script on the page (a clear it saw, then the cycle's five strokes, the last one
# lifted), then reads the paint canvas around the expected points in the same task, before the next cycle clears.
SNAPSHOT_JS = """([points, half]) => {
  const p = window.depthhandProjector;
  if (!p || p.clears < 1 || p.strokes.length !== 5 || !p.strokes[4].done) return false;
  const canvas = document.getElementById("paint");
  const ctx = canvas.getContext("2d");
  const windows = points.map(([x, y]) =>
    Array.from(ctx.getImageData(Math.round(x) - half, Math.round(y) - half, 2 * half + 1, 2 * half + 1).data));
  return {state: JSON.parse(JSON.stringify(p)), windows, canvas: [canvas.width, canvas.height], url: location.href};
}"""


def true_contacts_px() -> list[np.ndarray]:
    """Projector px of the index fingertip's true contact, per frame, for each contact of one script cycle."""
    from depthhand.geometry.plane import plane_to_local
    from depthhand.geometry.projector import apply_homography
    from depthhand.skeleton import Finger
    from depthhand.synth.calibration_user import true_projector_homography
    from depthhand.synth.projector_user import cycle_duration_s, paint_script
    from depthhand.synth.scripted import default_scene, scripted_frames

    plane, intrinsics = default_scene()
    h = true_projector_homography()
    contacts: list[list[np.ndarray]] = []
    touching = False
    for tf in scripted_frames(paint_script(start_s=0.0), plane, intrinsics, duration_s=cycle_duration_s(), t0_us=0):
        foot = tf.touches.get((1, Finger.INDEX))
        if foot is not None:
            if not touching:
                contacts.append([])
            contacts[-1].append(apply_homography(h, plane_to_local(np.asarray(foot), plane)[:2]))
        touching = foot is not None
    return [np.array(c) for c in contacts]


def dist_to_polyline(p: np.ndarray, line: np.ndarray) -> float:
    """Distance of point ``p`` (2,) to the polyline through ``line`` (N, 2), px."""
    if len(line) == 1:
        return float(np.linalg.norm(p - line[0]))
    a, b = line[:-1], line[1:]
    t = np.clip(np.einsum("ij,ij->i", p - a, b - a) / np.maximum(np.einsum("ij,ij->i", b - a, b - a), 1e-12), 0, 1)
    return float(np.min(np.linalg.norm(a + t[:, None] * (b - a) - p, axis=1)))


def painted(window: list[int], rgb: tuple[int, int, int]) -> np.ndarray:
    """(K, 2) offsets (dx, dy) of the centres of the pixels painted in ``rgb`` (± 24 per channel), px.

    Offsets are from the corner (``round(x)``, ``round(y)``) of the window's central pixel (pixel ``i`` spans
    ``[i, i + 1)``, so its centre is ``i + 0.5``): ``round(point) + offsets`` are canvas (projector) coordinates.
    """
    px = np.asarray(window, dtype=np.int32).reshape(2 * HALF + 1, 2 * HALF + 1, 4)
    hit = np.all(np.abs(px[..., :3] - np.asarray(rgb)) <= 24, axis=2)
    ys, xs = np.nonzero(hit)
    return np.stack([xs - HALF, ys - HALF], axis=1).astype(np.float64) + 0.5


def hex_rgb(code: str) -> tuple[int, int, int]:
    return int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16)


@pytest.mark.slow
def test_projector_page_draws_scripted_touches_at_their_projector_pixels(browser, tmp_path):  # noqa: F811
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import PROJECTOR_SIZE, scripted_calibration
    from depthhand.synth.projector_user import PAINT_CYCLE

    contacts = true_contacts_px()
    assert [len(c) > 0 for c in contacts] == [True] * len(PAINT_CYCLE)  # one true contact per scripted gesture
    labels = [g.label for g in PAINT_CYCLE]
    want = dict(zip(labels, contacts, strict=True))  # the two "button:erase" presses share a spot
    dot_a, dot_b, dot_e, drag = want["dot A"][0], want["dot B"][0], want["dot E"][0], want["drag"]
    drag_mid = (drag[0] + drag[-1]) / 2
    checks = [dot_a, dot_b, dot_e, drag_mid]

    save_calibration(scripted_calibration(), tmp_path / "calibration.json")  # the server reads it at start
    port = free_port()
    proc = start_serve(["--source", "scripted://paint"], tmp_path, port=port)
    try:
        page = browser.new_page(viewport={"width": 1000, "height": 640})  # not the projector's size: CSS scales it
        page.goto(f"http://127.0.0.1:{port}/projector?token={TOKEN}")
        handle = page.wait_for_function(SNAPSHOT_JS, arg=[[c.tolist() for c in checks], HALF], timeout=25000)
        snap = handle.json_value()
    finally:
        stop(proc)
    st = snap["state"]
    assert "token" not in snap["url"]  # stripped from the address bar, as on the viewer
    assert snap["canvas"] == list(PROJECTOR_SIZE) and [st["width"], st["height"]] == list(PROJECTOR_SIZE)
    assert st["calibrated"] and st["ignored"] == 0

    # button presses since the clear the page saw last: where the true contacts were, inside the right buttons
    last_clear = max(i for i, p in enumerate(st["pressed"]) if p["button"] == "clear")
    presses = st["pressed"][last_clear:]
    assert [p["button"] for p in presses] == ["clear", "green", "erase", "erase"]
    assert [p["active"] for p in presses[1:]] == [True, True, False]  # green picked; the eraser toggled on, off
    truth = [contacts[i][0] for i, lab in enumerate(labels) if lab.startswith("button:")]
    buttons = {b["id"]: b for b in st["buttons"]}
    for press, true_px in zip(presses, truth, strict=True):
        assert np.linalg.norm(np.asarray(press["px"]) - true_px) <= TOLERANCE_PX, (press, true_px)
        b = buttons[press["button"]]
        assert b["x"] <= true_px[0] < b["x"] + b["w"] and b["y"] <= true_px[1] < b["y"] + b["h"], (b, true_px)
    assert st["colour"] == "green" and not st["erase"]
    assert buttons["green"]["active"] and not buttons["red"]["active"] and not buttons["erase"]["active"]

    # strokes: every drawn point within 2 px of the true contact path
    strokes = st["strokes"]
    assert [(s["colour"], s["erase"]) for s in strokes] == [
        ("green", False),
        ("green", False),
        ("green", False),
        (None, True),
        ("green", False),
    ]
    for stroke, label in zip(strokes, ["dot A", "dot B", "drag", "erase A", "dot E"], strict=True):
        path = want[label]
        pts = np.asarray(stroke["points"])
        assert np.linalg.norm(pts[0] - path[0]) <= TOLERANCE_PX, (label, pts[0], path[0])
        assert max(dist_to_polyline(p, path) for p in pts) <= TOLERANCE_PX, label
    drag_pts = np.asarray(strokes[2]["points"])
    assert len(drag_pts) >= 10 and np.linalg.norm(drag_pts[-1] - drag[-1]) <= TOLERANCE_PX

    # the pixels on the canvas: green dots centred within 2 px of B and E, A erased, the drag's line through its middle
    green = hex_rgb(buttons["green"]["rgb"])
    win_a, win_b, win_e, win_mid = snap["windows"]
    for win, where, label in ((win_b, dot_b, "B"), (win_e, dot_e, "E")):
        offs = painted(win, green)
        assert len(offs) > 100, (label, len(offs))  # a dot of radius 8 px: ≈ 200 px
        centre = np.round(where) + offs.mean(axis=0)
        assert np.linalg.norm(centre - where) <= TOLERANCE_PX, (label, centre, where)
    assert len(painted(win_a, green)) == 0  # erased by the scripted eraser touch
    offs = painted(win_mid, green)
    direction = (drag[-1] - drag[0]) / np.linalg.norm(drag[-1] - drag[0])
    across = (np.round(drag_mid) + offs - drag_mid) @ np.array([-direction[1], direction[0]])
    assert len(offs) > 300 and abs(across.mean()) <= TOLERANCE_PX and np.abs(across).max() < 12


def test_projector_page_without_calibration_says_so(browser, tmp_path):  # noqa: F811
    port = free_port()
    proc = start_serve(["--source", "scripted://hover", "--fit-plane"], tmp_path, port=port)  # a plane, no projector
    try:
        page = browser.new_page(viewport={"width": 800, "height": 500})
        page.goto(f"http://127.0.0.1:{port}/projector?token={TOKEN}")
        page.wait_for_function(
            "window.depthhandProjector && window.depthhandProjector.connection === 'connected' && "
            "(window.depthhandProjector.calibration || {}).plane",
            timeout=20000,
        )
        st = page.evaluate("window.depthhandProjector")
        text, href = page.evaluate(
            "() => { const el = document.getElementById('status'); const a = el.querySelector('a');"
            " return [el.innerText, a && a.getAttribute('href')]; }"
        )
    finally:
        stop(proc)
    assert "token" not in page.url
    assert st["calibration"]["H"] is None and st["calibration"]["P"] is None
    assert not st["calibrated"] and text == "not calibrated: open /calibrate" and href == "calibrate"
    assert [st["width"], st["height"]] == [800, 500]  # the window's size until there is a projector
