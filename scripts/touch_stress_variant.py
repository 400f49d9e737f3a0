"""touch_stress_cached.py with TouchSettings overrides (tuning sub-runs): python ... SEED CONDS RULES OUT k=v ..."""

from __future__ import annotations

import functools
import runpy
import sys

import depthhand.interact.touch as touch

overrides = {k: float(v) if "." in v else int(v) for k, v in (a.split("=") for a in sys.argv[5:])}
touch.TouchSettings = functools.partial(touch.TouchSettings, **overrides)  # type: ignore[misc]
sys.argv = sys.argv[:5]
runpy.run_path(__file__.replace("touch_stress_variant", "touch_stress_cached"), run_name="__main__")
