"""``depthhand run --record FILE.mcap``: the depth and the hands of a pipeline run in one MCAP file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.cli import main


@pytest.mark.shared_data
def test_run_records_depth_and_the_same_hands_as_the_jsonl(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcap.reader import make_reader

    from depthhand.capture.mcap_reader import McapRecordingSource, read_hands
    from depthhand.capture.sources import open_source

    jsonl, rec = tmp_path / "poses.jsonl", tmp_path / "take.mcap"
    url = f"folder:{shared_data / 'real/sr305-desk/frames'}?intrinsics=sr305"
    argv = ["run", "--source", url, "--max-frames", "3", "--threads", "1", "--out", str(jsonl), "--record", str(rec)]
    assert main(argv) == 0
    assert f"recorded 3 frames with their hands to {rec}" in capsys.readouterr().out
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    with open(rec, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        (hands_channel,) = [c for c in summary.channels.values() if c.topic == "/hands"]
        assert summary.schemas[hands_channel.schema_id].name == "depthhand.Hands"
        assert (
            summary.schemas[hands_channel.schema_id].encoding == "jsonschema"
            and hands_channel.message_encoding == "json"
        )
        hands = [(m.log_time, json.loads(m.data)) for _, _, m in reader.iter_messages(topics=["/hands"])]
    assert json.loads(hands_channel.metadata["joint_names"]) == lines[0]["joint_names"]
    assert [h for _, h in hands] == lines[1:]  # the JSONL's records, one per frame
    assert all(len(h["hands"]) >= 1 for _, h in hands)  # the right hand is in every one of these real frames
    assert [t for t, _ in hands] == [r["timestamp_us"] * 1000 for r in lines[1:]]
    originals = list(open_source(url))[:3]
    played = list(McapRecordingSource(rec))
    assert [f.index for f in played] == [f.index for f in originals]
    for a, b in zip(originals, played, strict=True):
        np.testing.assert_array_equal(b.depth_mm, a.depth_mm)  # 0.125 mm steps: lossless
    assert read_hands(rec) == lines[1:]


def test_run_record_wants_an_mcap_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--max-frames", "1", "--record", str(tmp_path / "x.dhrec")]) == 1
    assert "--record should end in .mcap" in capsys.readouterr().err
    assert not (tmp_path / "x.dhrec").exists()
