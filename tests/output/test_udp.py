"""HOST:PORT targets, the never-raising UDP sender, and the command-line errors of --osc / --tuio."""

from __future__ import annotations

import logging
import socket

import pytest

from depthhand.cli import main
from depthhand.output.udp import UdpSender, parse_target

from .receiver import osc_receiver


def test_parse_target_resolves_once() -> None:
    t = parse_target("--osc", "127.0.0.1:9000")
    assert (t.host, t.port, t.family, t.sockaddr) == ("127.0.0.1", 9000, socket.AF_INET, ("127.0.0.1", 9000))
    assert str(t) == "127.0.0.1:9000"
    t6 = parse_target("--tuio", "[::1]:3333")
    assert (t6.host, t6.port, t6.family) == ("::1", 3333, socket.AF_INET6)
    assert str(t6) == "[::1]:3333"
    assert parse_target("--osc", "localhost:7000").port == 7000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9000", "expected HOST:PORT"),
        ("127.0.0.1", "expected HOST:PORT"),
        ("127.0.0.1:", "expected HOST:PORT"),
        (":9000", "expected HOST:PORT"),
        ("127.0.0.1:port", "expected HOST:PORT"),
        ("::1:9000", "expected HOST:PORT"),
        ("127.0.0.1:0", "the port must be in 1..65535, got 0"),
        ("127.0.0.1:70000", "the port must be in 1..65535, got 70000"),
        ("no-such-host.invalid:9000", "cannot resolve the host 'no-such-host.invalid'"),
    ],
)
def test_parse_target_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_target("--osc", text)
    assert str(info.value).startswith(f"--osc {text!r}: ")


def test_sender_counts_failures_logs_once_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    with osc_receiver() as rec:
        sender = UdpSender(parse_target("--osc", rec.target), "OSC")
        assert sender.send(b"/ok\x00,\x00\x00\x00")
        too_big = b"x" * 70_000  # more than one UDP datagram can carry: the kernel refuses it (EMSGSIZE)
        with caplog.at_level(logging.WARNING, logger="depthhand.output"):
            assert not sender.send(too_big)
            assert not sender.send(too_big)
            assert sender.send(b"/ok\x00,\x00\x00\x00")  # and it goes on sending
        assert len(rec.wait_for(2)) == 2
        sender.close()
    stats = sender.stats()
    assert (stats["sent"], stats["errors"]) == (2, 2)
    assert "OSError" in stats["last_error"] and stats["target"] == rec.target
    warnings = [r for r in caplog.records if r.name == "depthhand.output"]
    assert len(warnings) == 1 and "further failures are only counted" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--osc", "localhost"], "--osc 'localhost': expected HOST:PORT"),
        (["run", "--tuio", "127.0.0.1:99999"], "--tuio '127.0.0.1:99999': the port must be in 1..65535"),
        (["run", "--tuio", "127.0.0.1:3333"], "--tuio needs --calibration FILE"),
        (["serve", "--osc", "127.0.0.1"], "--osc '127.0.0.1': expected HOST:PORT"),
        (["serve", "--web-only", "--redis", "redis://x", "--osc", "127.0.0.1:9000"], "give it to the --worker-only"),
    ],
)
def test_bad_targets_are_one_line_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_run_tuio_needs_a_projector_mapping(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import scripted_calibration

    plane_only = dataclasses.replace(scripted_calibration(), homography=None)
    path = save_calibration(plane_only, tmp_path / "calibration.json")
    assert main(["run", "--source", "scripted://tap", "--tuio", "127.0.0.1:3333", "--calibration", str(path)]) == 1
    assert "has no projector mapping" in capsys.readouterr().err
    assert main(["run", "--tuio", "127.0.0.1:3333", "--calibration", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
