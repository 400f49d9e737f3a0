from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.evaluate.hard_set import (
    evaluate_hard_set,
    format_cases,
    generate_hard_set,
    read_hard_set,
    write_hard_set,
)


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    return all(
        x.case == y.case and x.family == y.family and x.handedness == y.handedness and x.intrinsics == y.intrinsics
        and np.array_equal(x.depth_mm, y.depth_mm) and np.array_equal(x.center_xyz_mm, y.center_xyz_mm)
        and np.array_equal(x.visibility, y.visibility) and np.array_equal(x.boxes_xyxy, y.boxes_xyxy)
        for x, y in zip(a, b, strict=True)
    )  # fmt: skip


def test_hard_set_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    cases = ("fists", "egocentric", "no_hand")
    a = generate_hard_set(2, cases=cases)
    b = generate_hard_set(2, cases=cases)
    assert [f.case for f in a] == ["fists", "fists", "egocentric", "egocentric", "no_hand", "no_hand"]
    assert _same(a, b)
    other = generate_hard_set(2, seed=1, cases=cases)
    assert not np.array_equal(a[0].depth_mm, other[0].depth_mm)
    write_hard_set(a, tmp_path / "hard")
    assert _same(a, read_hard_set(tmp_path / "hard"))
    assert len(a[-1].handedness) == 0  # no_hand frames carry no hand
    with pytest.raises(ValueError, match="hard case must be one of"):
        generate_hard_set(1, cases=("nope",))
    with pytest.raises(FileNotFoundError, match=r"hard_set\.json"):
        read_hard_set(tmp_path / "missing")


def test_evaluate_hard_set_reports_every_case() -> None:
    frames = generate_hard_set(2, cases=("fists", "no_hand"))
    r = evaluate_hard_set(frames)
    assert set(r["per_case"]) == {"fists", "no_hand"}
    fists, none = r["per_case"]["fists"], r["per_case"]["no_hand"]
    assert fists["frames"] == 2 and fists["gt_hands"] == 2 and 0.0 <= fists["recall"] <= 1.0
    assert none["gt_hands"] == 0 and np.isnan(none["recall"]) and none["false_hands_per_frame"] >= 0.0
    assert r["all"]["frames"] == 4
    assert sum(v["frames"] for v in r["per_family"].values()) == 4
    assert "| fists | 2 | 2 |" in format_cases(r)
