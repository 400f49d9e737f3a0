from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.evaluate.metrics import report_from_errors
from depthhand.evaluate.plot import plot_reports
from depthhand.evaluate.report import format_per_joint, format_table, write_reports_json

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _reports() -> list:
    a = report_from_errors(
        np.array([[3.0, 5.0], [10.0, 0.0]]),
        "method_a",
        dataset="toy",
        joint_names=["WRIST", "TIP"],
        subsets={"first": slice(0, 1)},
    )
    b = report_from_errors(np.array([[1.0, 2.0], [3.0, 4.0]]), "b", dataset="toy", joint_names=["WRIST", "TIP"])
    return [a, b]


def test_format_table() -> None:
    lines = format_table(_reports()).splitlines()
    assert lines[0].split()[:7] == ["method", "N", "J", "frames", "mean", "mm", "median"]
    assert "first mm" in lines[0]
    assert lines[2].split() == [
        "method_a",
        "2",
        "2",
        "all",
        "4.500",
        "4.500",
        "0.9074",  # (5 · 0 + 5 · 0.5 + 71 · 1) / 81
        "1.0000",
        "1.0000",
        "1.0000",
        "4.000",
    ]
    assert lines[3].split()[-1] == "-"  # b has no subset
    assert format_table([]) == "(no results)"


def test_format_per_joint() -> None:
    lines = format_per_joint(_reports()).splitlines()
    assert lines[1].split() == ["WRIST", "6.50", "2.00"]
    assert lines[2].split() == ["TIP", "2.50", "3.00"]


def test_write_reports_json(tmp_path: Path) -> None:
    p = write_reports_json(tmp_path / "r.json", _reports(), {"dataset": "toy"})
    data = json.loads(p.read_text())
    assert data["dataset"] == "toy"
    assert [r["name"] for r in data["reports"]] == ["method_a", "b"]
    assert data["reports"][0]["mean_mm"] == 4.5


def test_plot_reports_png(tmp_path: Path) -> None:
    import matplotlib.image

    p = plot_reports(_reports(), tmp_path / "plots" / "eval.png")
    assert p.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(p)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600
    assert float(image[..., :3].std()) > 0.05  # not a blank canvas
    assert [f.name for f in p.parent.iterdir()] == ["eval.png"]


def test_plot_reports_refuses_mixed_joints(tmp_path: Path) -> None:
    other = report_from_errors(np.ones((2, 3)), "c", joint_names=["A", "B", "C"])
    with pytest.raises(ValueError, match="same joints"):
        plot_reports([*_reports(), other], tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least one"):
        plot_reports([], tmp_path / "x.png")
