"""The shipped detector's card describes the shipped file: hash, size, and its raw real-frame figures."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from depthhand.pipeline import shipped_weights


@pytest.fixture(scope="module")
def card() -> dict[str, Any]:
    out: dict[str, Any] = json.loads(shipped_weights("detector.json").read_text())
    return out


def test_card_names_the_shipped_file(card: dict[str, Any]) -> None:
    onnx = shipped_weights("detector.onnx")
    assert card["file"] == onnx.name
    assert card["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    assert card["bytes"] == onnx.stat().st_size


def test_card_real_box_figures_are_what_the_shipped_detector_scores(card: dict[str, Any], shared_data: Path) -> None:
    """Re-run the box-label evaluation on the 11 SR305 frames (a few seconds) against the card's numbers."""
    from depthhand.evaluate.detector import evaluate_real

    frames = shared_data / "real" / "sr305-desk" / "frames"
    got = evaluate_real(None, frames_dir=frames)
    want = card["evaluation"]["real_sr305_desk"]
    assert got["right_hand_found"] == want["right_hand_found"] == 11
    assert got["false_detections"] == want["false_detections"]
    for k, row in want["per_frame"].items():
        assert got["per_frame"][k]["score"] == pytest.approx(row["score"], abs=1e-3)
