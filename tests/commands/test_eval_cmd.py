"""``depthhand eval`` end to end, on the published prediction files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from depthhand.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rows(out: str) -> dict[str, list[str]]:
    """Table rows of the printed output, by method name."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("method"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        rows.setdefault(cells[0], cells[1:])  # first row of a name
    return rows


@pytest.mark.slow
def test_eval_nyu_table_plot_json(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = shared_data / "eval" / "results" / "nyu"
    png, out_json = tmp_path / "nyu.png", tmp_path / "nyu.json"
    argv = ["eval", "--dataset", "nyu", "--shared", str(shared_data.parent)]
    argv += [
        "--pred",
        str(results / "CVPR19_NYU_CrossInfoNet.txt"),
        "--pred",
        str(results / "CVPR18_NYU_V2V_PoseNet.txt"),
    ]
    argv += ["--plot", str(png), "--json", str(out_json), "--per-joint"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "N = 8252 frames, J = 14 joints" in out
    rows = _rows(out)
    # N, J, frames, mean, median, AUC, <=10, <=20, <=40, first half, second half
    assert rows["CVPR19_NYU_CrossInfoNet"] == [
        "8252", "14", "all", "10.078", "8.632", "0.7315", "0.1493", "0.6365", "0.8918", "5.730", "11.904"
    ]  # fmt: skip
    assert rows["CVPR18_NYU_V2V_PoseNet"][:9] == [
        "8252", "14", "all", "8.419", "6.817", "0.7505", "0.3053", "0.7124", "0.8809"
    ]  # fmt: skip
    assert "INDEX_TIP" in out and "13.96" in out  # per-joint table

    assert png.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.shape[0] > 300 and image.shape[1] > 600 and float(image[..., :3].std()) > 0.05

    data = json.loads(out_json.read_text())
    assert data["dataset"] == "nyu" and not data["intrinsics_overridden"]
    assert [r["name"] for r in data["reports"]] == ["CVPR19_NYU_CrossInfoNet", "CVPR18_NYU_V2V_PoseNet"]
    assert data["reports"][0]["mean_mm"] == pytest.approx(10.0785, abs=1e-3)
    assert data["reports"][1]["success_max_frame"]["20"] == pytest.approx(0.7124, abs=1e-4)


def test_eval_icvl_frames_and_joints(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred = shared_data / "eval" / "results" / "icvl" / "CVPR19_ICVL_CrossInfoNet.txt"
    base = ["eval", "--dataset", "icvl", "--shared", str(shared_data.parent), "--pred", str(pred)]
    assert main([*base, "--frames", "1:702"]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["CVPR19_ICVL_CrossInfoNet"][:4] == ["702", "16", "1:702", "7.051"]
    assert main([*base, "--joints", "palm,THUMB_TIP,15"]) == 0
    out = capsys.readouterr().out
    assert "joints PALM, THUMB_TIP, PINKY_TIP" in out
    assert _rows(out)["CVPR19_ICVL_CrossInfoNet"][:3] == ["1596", "3", "all"]


def test_eval_intrinsics_override_diagnostic(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred = shared_data / "eval" / "results" / "nyu" / "CVPR19_NYU_CrossInfoNet.txt"
    argv = ["eval", "--dataset", "nyu", "--shared", str(shared_data.parent), "--pred", str(pred)]
    assert main([*argv, "--intrinsics", "241.42,241.42,160,120"]) == 0
    out = capsys.readouterr().out
    assert "NOT comparable" in out
    assert _rows(out)["CVPR19_NYU_CrossInfoNet"][3] == "20.820"


def test_eval_refuses_partial_and_malformed(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = shared_data / "eval" / "results" / "nyu" / "CVPR19_NYU_CrossInfoNet.txt"
    lines = src.read_text().splitlines()
    argv = ["eval", "--dataset", "nyu", "--shared", str(shared_data.parent), "--pred"]

    partial = tmp_path / "partial.txt"
    partial.write_text("\n".join(lines[:2440]) + "\n")
    assert main([*argv, str(partial)]) == 1
    assert "partial.txt: expected 8252 lines" in capsys.readouterr().err

    broken = tmp_path / "broken.txt"
    broken.write_text("\n".join([*lines[:99], " ".join(lines[99].split()[:-1]), *lines[100:]]) + "\n")
    assert main([*argv, str(broken)]) == 1
    assert "broken.txt:100: expected 42 values (14 joints × u v d), got 41" in capsys.readouterr().err

    icvl = shared_data / "eval" / "results" / "icvl" / "CVPR19_ICVL_CrossInfoNet.txt"
    assert main([*argv, str(icvl)]) == 1
    assert "expected 8252 lines" in capsys.readouterr().err

    xyz = tmp_path / "short.npz"
    np.savez(xyz, joints_xyz_mm=np.ones((10, 14, 3)))
    assert main([*argv, str(xyz)]) == 1
    assert "partial sets are refused" in capsys.readouterr().err


def test_eval_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--dataset", "nyu", "--shared", str(tmp_path), "--pred", "x.txt"]) == 1
    assert "ground truth not found" in capsys.readouterr().err
    assert main(["eval", "--dataset", "msra", "--shared", str(tmp_path)]) == 1
    assert "--pred" in capsys.readouterr().err
    assert main(["eval", "--dataset", "nyu", "--gt", str(tmp_path / "gt.txt"), "--pred", "x.txt"]) == 1
    assert "not found" in capsys.readouterr().err


def test_eval_own_formats_and_gt_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON xyz prediction against a uvd ground truth given with --gt, without the shared folder."""
    from depthhand.evaluate.protocols import get_protocol
    from depthhand.evaluate.results_io import Coords, write_json, write_uvd_text

    icvl = get_protocol("icvl")
    rng = np.random.default_rng(0)
    gt_uvd = np.concatenate([rng.uniform(60, 260, (1596, 16, 2)), rng.uniform(300, 500, (1596, 16, 1))], axis=-1)
    gt = write_uvd_text(tmp_path / "gt.txt", gt_uvd, decimals=9)
    pred_xyz = icvl.uvd_to_xyz(gt_uvd)
    pred_xyz[:, :, 2] += 3.5  # every joint 3.5 mm too far
    pred = write_json(tmp_path / "ours.json", pred_xyz, Coords.XYZ_MM)
    out_json = tmp_path / "r.json"
    argv = ["eval", "--dataset", "icvl", "--gt", str(gt), "--pred", str(pred), "--pred", str(pred)]
    assert main([*argv, "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["ours"][:9] == ["1596", "16", "all", "3.500", "3.500", "0.9506", "1.0000", "1.0000", "1.0000"]
    reports = json.loads(out_json.read_text())["reports"]
    assert [r["name"] for r in reports] == ["ours", "ours (2)"]
    assert reports[1]["auc_0_80"] == pytest.approx(77 / 81)
    assert reports[1]["success_max_frame"]["3"] == 0.0


def test_eval_console_entry(shared_data: Path, tmp_path: Path) -> None:
    pred = shared_data / "eval" / "results" / "icvl" / "CVPR18_ICVL_V2V_PoseNet.txt"
    env = {**os.environ, "DEPTHHAND_SHARED": str(shared_data.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "depthhand.cli", "eval", "--dataset", "icvl", "--pred", str(pred)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    row = _rows(proc.stdout)["CVPR18_ICVL_V2V_PoseNet"]
    assert row[:5] == ["1596", "16", "all", "6.284", "5.603"]
    assert row[-2:] == ["7.343", "5.452"]
