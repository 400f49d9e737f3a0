"""touch_stress_cached.py with TouchSettings overrides (tuning sub-runs): python ... SEED CONDS RULES OUT k=v ...

Keys ``fused.NAME`` set :class:`~depthhand.interact.fused.FusedSettings` fields, ``contact.NAME``
:class:`~depthhand.interact.contact.ContactSettings` fields (the others TouchSettings fields).
"""

from __future__ import annotations

import functools
import runpy
import sys

import depthhand.interact.engine as engine
import depthhand.interact.touch as touch
from depthhand.interact.contact import ContactSettings
from depthhand.interact.fused import FusedSettings

pairs = [a.split("=") for a in sys.argv[5:]]
prefixed = ("fused.", "contact.")
overrides: dict[str, object] = {k: float(v) if "." in v else int(v) for k, v in pairs if not k.startswith(prefixed)}
fused = {k.removeprefix("fused."): float(v) for k, v in pairs if k.startswith("fused.")}
contact = {k.removeprefix("contact."): float(v) for k, v in pairs if k.startswith("contact.")}
if fused:
    overrides["fused"] = FusedSettings(**fused)  # type: ignore[arg-type]
touch.TouchSettings = functools.partial(touch.TouchSettings, **overrides)  # type: ignore[misc]
if contact:  # run_stress imports Interaction from the engine module when it runs
    engine.Interaction = functools.partial(engine.Interaction, contact=ContactSettings(**contact))  # type: ignore[misc]
sys.argv = sys.argv[:5]
runpy.run_path(__file__.replace("touch_stress_variant", "touch_stress_cached"), run_name="__main__")
