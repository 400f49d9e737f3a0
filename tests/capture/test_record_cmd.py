from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.capture.recording import RecordingSource
from depthhand.capture.sources import open_source
from depthhand.cli import main


@pytest.mark.shared_data
def test_record_the_sr305_folder(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"folder:{shared_data / 'real/sr305-desk/frames'}?intrinsics=sr305"
    out = tmp_path / "take.dhrec"
    assert main(["record", "--source", url, "--out", str(out), "--max-frames", "7", "--chunk-frames", "3"]) == 0
    assert "wrote 7 frames" in capsys.readouterr().out
    with RecordingSource(out) as rec:
        frames = list(rec)
        assert rec.header["source"] == url
    originals = list(open_source(url))[:7]
    assert len(frames) == 7
    for a, b in zip(originals, frames, strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)  # 0.125 mm units: lossless
        assert a.timestamp_us == b.timestamp_us and a.index == b.index
        assert a.intrinsics == b.intrinsics


def test_record_errors_are_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--source", str(tmp_path / "missing"), "--out", str(tmp_path / "x.dhrec")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["record", "--source", "kinect://", "--out", str(tmp_path / "x.dhrec")]) == 1
    assert "unknown source scheme" in capsys.readouterr().err
    assert main(["record", "--source", str(tmp_path), "--out", str(tmp_path / "x.bin")]) == 1
    assert "should end in .dhrec" in capsys.readouterr().err
    assert not (tmp_path / "x.dhrec").exists()


@pytest.mark.shared_data
def test_record_the_sr305_folder_to_mcap_read_by_the_mcap_library(shared_data: Path, tmp_path: Path) -> None:
    """The real SR305 PNGs, recorded to MCAP, opened by the mcap library: each image is the PNG's raw value."""
    import cv2
    from mcap.reader import make_reader
    from mcap_protobuf.decoder import DecoderFactory

    folder = shared_data / "real/sr305-desk/frames"
    url = f"folder:{folder}?intrinsics=sr305"
    out = tmp_path / "take.mcap"
    assert main(["record", "--source", url, "--out", str(out), "--max-frames", "7", "--chunk-frames", "3"]) == 0
    with open_source(url) as folder_src:
        originals = list(folder_src)[:7]
        files = list(folder_src.files)  # type: ignore[attr-defined]
    with open_source(str(out)) as rec:
        frames = list(rec)
        assert rec.header["source"] == url
    assert len(frames) == 7
    for a, b in zip(originals, frames, strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
        assert a.timestamp_us == b.timestamp_us and a.index == b.index and a.intrinsics == b.intrinsics
    with open(out, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None
        assert summary.statistics.message_count == 8 and summary.statistics.chunk_count == 1 + 3  # 3 + 3 + 1
        images = [(m, d) for _, c, m, d in reader.iter_decoded_messages(topics=["/depth/image"])]
        assert {summary.schemas[c.schema_id].name for c in summary.channels.values()} == {
            "foxglove.RawImage",
            "foxglove.CameraCalibration",
        }
    message, image = images[4]
    png = cv2.imread(str(files[originals[4].index]), cv2.IMREAD_UNCHANGED)
    steps = np.frombuffer(image.data, "<u2").reshape(image.height, image.width)
    np.testing.assert_array_equal(steps, png)  # the sensor's own 0.125 mm units, bit for bit
    assert message.log_time == originals[4].timestamp_us * 1000


def test_record_between_formats_and_codec_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from depthhand.capture.recording import RecordingWriter
    from depthhand.structures import CameraIntrinsics
    from tests.capture.conftest import make_frames

    k = CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 64, 48, depth_unit_mm=0.125)
    frames = make_frames(k, 12)
    with RecordingWriter(tmp_path / "in.dhrec", k) as w:
        for f in frames:
            w.write(f)
    mcap_out, back = tmp_path / "x.mcap", tmp_path / "back.dhrec"
    for codec in ("zstd", "lz4", "raw"):
        args = ["record", "--source", str(tmp_path / "in.dhrec"), "--out", str(mcap_out), "--codec", codec]
        assert main(args) == 0
    assert main(["record", "--source", str(mcap_out), "--out", str(back)]) == 0
    assert "wrote 12 frames" in capsys.readouterr().out
    for a, b in zip(frames, RecordingSource(back), strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)
        assert (a.timestamp_us, a.index) == (b.timestamp_us, b.index)
    assert main(["record", "--source", str(back), "--out", str(tmp_path / "y.mcap"), "--codec", "zlib"]) == 1
    assert "--codec zlib is not one for .mcap; use one of lz4, zstd, raw" in capsys.readouterr().err
    assert main(["record", "--source", str(back), "--out", str(tmp_path / "y.dhrec"), "--codec", "zstd"]) == 1
    assert "--codec zstd is not one for .dhrec" in capsys.readouterr().err


def test_a_corrupt_input_mcap_keeps_what_came_before_or_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from depthhand.capture.mcap_reader import McapRecordingSource
    from depthhand.structures import CameraIntrinsics
    from tests.capture.conftest import make_frames
    from tests.capture.test_mcap import assert_frames, chunk_offsets, write_mcap

    frames = make_frames(CameraIntrinsics(60.0, 61.0, 31.5, 23.5, 64, 48, depth_unit_mm=0.125), 20)
    src = write_mcap(tmp_path / "in.mcap", frames)
    third = chunk_offsets(src)[2]
    data = bytearray(src.read_bytes())
    data[third + 100] ^= 0xFF
    src.write_bytes(bytes(data))
    out = tmp_path / "copy.mcap"
    assert main(["record", "--source", str(src), "--out", str(out), "--chunk-frames", "5"]) == 1
    err = capsys.readouterr().err
    assert f"corrupt chunk 3 at byte {third}" in err and "after 5 frames" in err
    assert_frames(list(McapRecordingSource(out)), frames[:5])
    assert main(["record", "--source", f"mcap:{src}?on_corrupt=skip", "--out", str(out)]) == 0
    assert "skipped 5 in 1 corrupt part(s)" in capsys.readouterr().out
    assert_frames(list(McapRecordingSource(out)), frames[:5] + frames[10:])
