from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.cli import main
from depthhand.synth.dataset import SynthDatasetReader, write_dataset
from depthhand.synth.scenes import render_scene, sample_scene


def test_write_read_round_trip_and_regeneration(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "ds", 5, "topdown", seed=7, shard_size=2, progress=False)
    meta = json.loads(path.read_text())
    assert meta["count"] == 5 and len(meta["shards"]) == 3
    reader = SynthDatasetReader(tmp_path / "ds")
    assert len(reader) == 5
    for i in (0, 3, 4):
        rec = reader[i]
        # sample i regenerates from default_rng([seed, i])
        rng = np.random.default_rng([7, i])
        s = render_scene(sample_scene("topdown", rng), rng, "default")
        np.testing.assert_allclose(rec.depth_mm, np.round(s.depth_mm), atol=0)
        np.testing.assert_allclose(rec.joints_xyz_mm, s.joints_xyz_mm, atol=1e-3)
        np.testing.assert_allclose(rec.joints_uvd, s.joints_uvd, atol=1e-3)
        np.testing.assert_array_equal(rec.visibility, s.visibility)
        np.testing.assert_array_equal(rec.part, s.part)
        np.testing.assert_array_equal(rec.owner, s.owner)
        assert rec.handedness == s.handedness
        assert rec.intrinsics == s.intrinsics
        assert rec.table_plane is not None
        np.testing.assert_allclose(rec.table_plane, s.table_plane)
    assert reader[-1].index == 4
    with pytest.raises(IndexError):
        reader[5]


def test_same_seed_same_files_any_shard_size(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", 3, "frontal", seed=2, shard_size=3, progress=False)
    write_dataset(tmp_path / "b", 3, "frontal", seed=2, shard_size=1, progress=False)
    ra, rb = SynthDatasetReader(tmp_path / "a"), SynthDatasetReader(tmp_path / "b")
    for i in range(3):
        np.testing.assert_array_equal(ra[i].depth_mm, rb[i].depth_mm)
        np.testing.assert_array_equal(ra[i].joints_xyz_mm, rb[i].joints_xyz_mm)


def test_reader_rejects_other_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dataset\.json"):
        SynthDatasetReader(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="format"):
        SynthDatasetReader(tmp_path)


def test_cli_writes_dataset_and_preview(tmp_path: Path) -> None:
    out, png = tmp_path / "cli_ds", tmp_path / "preview.png"
    rc = main(["synth", "--scene", "egocentric", "--count", "2", "--out", str(out), "--seed", "1", "--quiet",
               "--preview", str(png)])  # fmt: skip
    assert rc == 0
    assert len(SynthDatasetReader(out)) == 2
    assert png.stat().st_size > 1000


def test_cli_rejects_bad_scene(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["synth", "--scene", "moon", "--preview", "x.png"])
    assert rc != 0
    assert "scene" in capsys.readouterr().err
