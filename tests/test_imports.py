"""The runtime path (capture → detect → pose → track → interact → serve, synth): no torch, no scipy.optimize."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import depthhand

TRAINING_ONLY = ("depthhand.models", "depthhand.train", "depthhand.export")

CONFIGURE_DJANGO = r"""
import tempfile
from pathlib import Path
from depthhand.serve import configure
from depthhand.serve.options import ServeOptions
configure(ServeOptions(token="t0Ken-for-the-import-test-Xy9", data_dir=Path(tempfile.mkdtemp())))
"""
"""The serve modules that build Django/ninja objects (``urls``, ``asgi``, ``api``, ``views``) need settings."""

BLOCK_AND_IMPORT = r"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked: the runtime path must not import it")
        return None
sys.meta_path.insert(0, Block())
exec(CONFIGURE_DJANGO)
for name in sys.argv[1:]:
    importlib.import_module(name)
import depthhand.cli
depthhand.cli.build_parser()
print("ok", len(sys.argv) - 1)
"""


def runtime_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(depthhand.__path__, "depthhand."):
        if info.name.startswith(TRAINING_ONLY):
            continue
        names.append(info.name)
    return names


def test_runtime_path_imports_without_torch() -> None:
    mods = runtime_modules()
    assert "depthhand.geometry.crop" in mods
    assert {"depthhand.serve.urls", "depthhand.serve.api", "depthhand.serve.views"} <= set(mods)
    code = BLOCK_AND_IMPORT.replace("exec(CONFIGURE_DJANGO)", CONFIGURE_DJANGO)
    out = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == f"ok {len(mods)}"


def test_importing_depthhand_is_cheap() -> None:
    code = (
        "import sys, depthhand; print(sorted(m for m in ('torch', 'cv2', 'onnxruntime', 'django') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


RUNTIME_PACKAGES = (
    "depthhand.capture",
    "depthhand.detect",
    "depthhand.geometry",
    "depthhand.pose",
    "depthhand.track",
    "depthhand.interact",
    "depthhand.serve",
)
RUNTIME_SINGLE = ("depthhand.pipeline", "depthhand.predict", "depthhand.runner", "depthhand.viz", "depthhand.cli")

WATCH_AND_RUN = r"""
import importlib, sys, traceback
first = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy.optimize" and not first:
            first.append("".join(traceback.format_stack(limit=12)))
        return None
sys.meta_path.insert(0, Watch())
exec(CONFIGURE_DJANGO)
folder, out, *names = sys.argv[1:]
for name in names:
    importlib.import_module(name)
from depthhand.cli import main
frame = folder + "/100.png"
assert main(["predict", frame, "--intrinsics", "sr305", "--depth-scale", "0.125", "--out", out + "/p.json"]) == 0
src = f"folder:{folder}?intrinsics=sr305&scale=0.125"
assert main(["run", "--source", src, "--max-frames", "3", "--out", out + "/r.jsonl"]) == 0
print("RESULT", "scipy.optimize" in sys.modules, len(first))
print(first[0] if first else "")
"""


def test_runtime_path_does_not_import_scipy_optimize(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Importing scipy.optimize costs 0.25-0.3 s (about 500 modules): more than the whole cold start may take."""
    mods = [
        m
        for m in runtime_modules()
        if m.startswith(RUNTIME_PACKAGES)
        or m in RUNTIME_SINGLE
        or m in ("depthhand.commands.predict", "depthhand.commands.run")
    ]
    assert "depthhand.track.tracker" in mods and "depthhand.serve.publisher" in mods
    folder = shared_data / "real/sr305-desk/frames"
    code = WATCH_AND_RUN.replace("exec(CONFIGURE_DJANGO)", CONFIGURE_DJANGO)
    cmd = [sys.executable, "-c", code, str(folder), str(tmp_path), *mods]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "RESULT False 0" in out.stdout, out.stdout  # else: the stack of the first import of scipy.optimize
    assert sum('"timings_ms"' in line for line in (tmp_path / "r.jsonl").read_text().splitlines()) == 3


COLD_PREDICT = r"""
import sys
from depthhand.cli import main
assert main(["predict", sys.argv[1], "--intrinsics", "sr305", "--depth-scale", "0.125", "--out", sys.argv[2]]) == 0
heavy = ("numba", "depthhand.pose.refine", "depthhand.synth", "depthhand.viz", "depthhand.capture.synthetic", "torch")
print("LOADED", sorted(m for m in heavy if m in sys.modules))
unused = ("rich", "tqdm", "django", "scipy", "depthhand.serve", "depthhand.commands.serve", "depthhand.commands.record",
    "depthhand.commands.bench", "concurrent.futures", "importlib.resources", "pkgutil", "depthhand.capture.live",
    "depthhand.capture.sources")
print("UNUSED", sorted(m for m in unused if m in sys.modules))
"""


def test_predict_on_one_file_imports_only_what_it_runs(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The cold start of `depthhand predict` (issue 20: <= 0.25 s): refinement, synthesis and overlays stay unloaded."""
    frame = shared_data / "real/sr305-desk/frames/100.png"
    cmd = [sys.executable, "-c", COLD_PREDICT, str(frame), str(tmp_path / "p.json")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "LOADED []" in out.stdout, out.stdout
    # Issue 20's 0.25 s: the other verbs, the server, progress bars and thread pools are not loaded for one file.
    assert "UNUSED []" in out.stdout, out.stdout
