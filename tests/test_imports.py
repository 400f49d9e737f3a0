"""The runtime path (capture → detect → pose → track → interact → serve, synth) never imports torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import depthhand

TRAINING_ONLY = ("depthhand.models", "depthhand.train", "depthhand.export")

BLOCK_AND_IMPORT = r"""
import importlib, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked: the runtime path must not import it")
        return None
sys.meta_path.insert(0, Block())
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
        if info.name.startswith("depthhand.serve.") and info.name.rsplit(".", 1)[-1] in {"asgi", "wsgi", "urls"}:
            continue  # these need configured Django settings; covered by the serve tests
        names.append(info.name)
    return names


def test_runtime_path_imports_without_torch() -> None:
    mods = runtime_modules()
    assert "depthhand.geometry.crop" in mods
    out = subprocess.run([sys.executable, "-c", BLOCK_AND_IMPORT, *mods], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == f"ok {len(mods)}"


def test_importing_depthhand_is_cheap() -> None:
    code = (
        "import sys, depthhand; print(sorted(m for m in ('torch', 'cv2', 'onnxruntime', 'django') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"
