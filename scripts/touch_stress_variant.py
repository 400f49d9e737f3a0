"""touch_stress_cached.py with TouchSettings overrides (tuning sub-runs): python ... SEED CONDS RULES OUT k=v ...

Keys ``fused.NAME`` set :class:`~depthhand.interact.fused.FusedSettings` fields (the others TouchSettings fields).
"""

from __future__ import annotations

import functools
import runpy
import sys

import depthhand.interact.touch as touch
from depthhand.interact.fused import FusedSettings

pairs = [a.split("=") for a in sys.argv[5:]]
overrides: dict[str, object] = {k: float(v) if "." in v else int(v) for k, v in pairs if not k.startswith("fused.")}
fused = {k.removeprefix("fused."): float(v) for k, v in pairs if k.startswith("fused.")}
if fused:
    overrides["fused"] = FusedSettings(**fused)  # type: ignore[arg-type]
touch.TouchSettings = functools.partial(touch.TouchSettings, **overrides)  # type: ignore[misc]
sys.argv = sys.argv[:5]
runpy.run_path(__file__.replace("touch_stress_variant", "touch_stress_cached"), run_name="__main__")
