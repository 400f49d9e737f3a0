"""End-to-end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; never `playwright install`)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from depthhand.geometry.vectors import axis_angle_deg

from .conftest import TOKEN, free_port, start_serve, stop

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.slow
def test_viewer_draws_skeletons_and_depth(browser, tmp_path):
    port = free_port()
    proc = start_serve(["--source", "scripted://demo"], tmp_path, port=port)
    try:
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        page.wait_for_function("window.depthhand && window.depthhand.renderedFrames > 20", timeout=30000)
        page.wait_for_function("(window.depthhand.depthFrames || 0) > 0", timeout=10000)
        st = page.evaluate("JSON.stringify(window.depthhand, (k, v) => k === 'hello' ? undefined : v)")
        st = json.loads(st)
        assert st["bones"] == 40 and st["joints"] == 42  # two hands × 20 bones / 21 joints
        assert st["frames"] >= st["renderedFrames"] > 20
        png = page.locator("#view").screenshot()
        import cv2

        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        # the skeleton colours (blue / orange lines) are on the canvas; the background is #111
        colourful = (np.abs(img.astype(int) - 17).max(axis=2) > 60).sum()
        assert colourful > 200, colourful
        assert page.locator("#depth").evaluate("e => e.naturalWidth") == 160
    finally:
        stop(proc)


@pytest.mark.slow
def test_calibration_walkthrough_with_scripted_user(browser, tmp_path):
    from depthhand.geometry.plane import Plane, plane_to_local
    from depthhand.geometry.projector import apply_homography
    from depthhand.interact.calibration import load_calibration
    from depthhand.synth.calibration_user import true_projector_homography
    from depthhand.synth.scripted import default_scene

    port = free_port()
    proc = start_serve(["--source", "scripted://calibration"], tmp_path, port=port)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"http://127.0.0.1:{port}/calibrate?token={TOKEN}&auto=1")
        page.wait_for_function(
            "window.depthhandCalibration.phase === 'done' || window.depthhandCalibration.error", timeout=90000
        )
        cal_state = page.evaluate("window.depthhandCalibration")
        assert cal_state["error"] is None and cal_state["index"] == 9
        errors = cal_state["result"]["errors"]["H"]
        assert errors["rms_px"] < 3.0
        assert "Done" in page.locator("#step").inner_text()
    finally:
        stop(proc)
    cal = load_calibration(tmp_path / "calibration.json")
    plane_true, _ = default_scene()
    assert isinstance(cal.plane, Plane)
    assert axis_angle_deg(cal.plane.normal, plane_true.normal) < 0.5
    # the fitted mapping agrees with the installation's true projector mapping across the table
    rng = np.random.default_rng(0)
    ab = rng.uniform([-150, -90], [150, 90], (50, 2))
    from depthhand.geometry.plane import local_to_plane

    xyz = local_to_plane(np.concatenate([ab, np.zeros((50, 1))], 1), plane_true)
    err = np.linalg.norm(
        cal.to_projector(xyz) - apply_homography(true_projector_homography(), plane_to_local(xyz, plane_true)[:, :2]),
        axis=1,
    )
    assert err.max() < 8.0, err.max()


@pytest.mark.slow
def test_api_docs_work_offline_and_try_it_out_uses_the_token(browser, tmp_path):
    """Swagger UI at /api/docs loads only from this server (every other host is refused) and its "Try it out" of
    GET /api/status answers 200 with the token of the page's ?token=."""
    from urllib.parse import urlsplit

    port = free_port()
    proc = start_serve(["--source", "scripted://demo"], tmp_path, port=port)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        elsewhere: list[str] = []

        def only_this_server(route):
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_this_server)
        page.goto(f"http://127.0.0.1:{port}/api/docs?token={TOKEN}")
        page.wait_for_function("window.depthhandDocs && window.depthhandDocs.ready", timeout=30000)
        page.wait_for_selector(".opblock-summary-path", timeout=10000)
        paths = set(page.locator(".opblock-summary-path").all_inner_texts())
        assert {"/api/status", "/api/config", "/api/calibration/solve", "/api/schema/ws.json"} <= paths
        status_op = page.locator(".opblock-get").filter(has_text="Pipeline status")  # GET /api/status
        status_op.locator(".opblock-summary").click()
        status_op.locator(".try-out__btn").click()
        status_op.locator(".execute").click()
        code = status_op.locator(".live-responses-table tr.response .response-col_status").first
        code.wait_for(timeout=10000)
        assert code.inner_text().strip() == "200"
        assert '"mode"' in status_op.locator(".live-responses-table .microlight").first.inner_text()
        assert not elsewhere, elsewhere
    finally:
        stop(proc)
