"""``output.osc``: what ``--osc`` and ``--tuio`` add to each frame of the live loop (encode + UDP send).

Frames: the scripted two-hand demo (``scripted://demo``: a right hand tapping, a left hand pinching; every finger of
both hands hovers, so each frame carries 10–11 events) through the interaction engine with the scripted
installation's projector calibration, i.e. the largest bundles the outputs send (joints in mm and projector pixels,
all events). Each frame is encoded and sent to a bound UDP socket on 127.0.0.1 (a receiver that is not reading: the
kernel's cost of taking the datagram is included, a receiver's is not). ``builder_encode_ratio``: encoding the same
bundles with python-osc's ``OscMessageBuilder`` / ``OscBundleBuilder`` (which parse every message they build back)
over :func:`depthhand.output.osc.message`'s direct encoding, measured alternately in one run; ``builder_identical``:
both give the same bytes.
"""

from __future__ import annotations

import socket
import statistics
import time
from typing import Any

from depthhand.bench.core import BenchResult, benchmark


def _frames(n: int) -> list[tuple[Any, Any]]:
    from depthhand.interact.engine import Interaction
    from depthhand.synth.calibration_user import scripted_calibration
    from depthhand.synth.scripted import default_scene, demo_script, scripted_frames

    plane, intrinsics = default_scene()
    engine = Interaction(calibration=scripted_calibration())
    frames = scripted_frames(demo_script(), plane, intrinsics, fps=30.0, duration_s=n / 30.0, noise_mm=2.0, t0_us=0)
    return [(tf.result, engine.process(tf.result)) for tf in frames]


def _builder_inputs(datagram: bytes) -> list[tuple[str, str, list[Any]]]:
    """(address, type tags, values) of each message of a bundle, decoded by python-osc."""
    from pythonosc.osc_bundle import OscBundle
    from pythonosc.parsing import osc_types

    out = []
    for msg in OscBundle(datagram):
        tags, _ = osc_types.get_string(msg.dgram, len(osc_types.write_string(msg.address)))
        out.append((msg.address, tags[1:], list(msg.params)))
    return out


def _builder_bundle(messages: list[tuple[str, str, list[Any]]]) -> bytes:
    """The same bundle through python-osc's builders (the reference the encoder is measured against)."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, tags, values in messages:
        builder = OscMessageBuilder(address)
        for tag, value in zip(tags, values, strict=True):
            builder.add_arg(value, tag)
        bundle.add_content(builder.build())
    return bytes(bundle.build().dgram)


def _time(output: Any, frames: list[tuple[Any, Any]]) -> list[float]:
    times = []
    for result, inter in frames:
        t0 = time.perf_counter()
        output.send(result, inter)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


@benchmark("output.osc", "OSC bundle and TUIO 2Dcur bundle per frame: encode + UDP send, two hands with events")
def output_osc(quick: bool) -> BenchResult:
    """Median ms per frame of ``--osc`` and of ``--tuio`` (and their datagram sizes)."""
    from depthhand.output.osc import OscEncoder, OscOutput
    from depthhand.output.tuio import TuioEncoder, TuioOutput
    from depthhand.output.udp import parse_target

    n = 150 if quick else 900
    frames = _frames(n)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    target = parse_target("--osc", f"127.0.0.1:{sink.getsockname()[1]}")
    osc, tuio = OscOutput(target), TuioOutput(target)
    details: dict[str, Any] = {"frames": n}
    try:
        _time(osc, frames[:30]), _time(tuio, frames[:30])  # warm-up
        osc_ms, tuio_ms = [], []
        for k in range(0, n, 50):  # alternate the two in blocks, so that both see the same machine load
            osc_ms += _time(osc, frames[k : k + 50])
            tuio_ms += _time(tuio, frames[k : k + 50])
        for name, times in (("osc", osc_ms), ("tuio", tuio_ms)):
            times.sort()
            details[f"{name}_median_ms"] = statistics.median(times)
            details[f"{name}_p95_ms"] = times[round(0.95 * (len(times) - 1))]
        encoder = OscEncoder()
        datagrams = [encoder.encode(r, i) for r, i in frames]
        inputs = [_builder_inputs(d) for d in datagrams]
        details["builder_identical"] = all(_builder_bundle(m) == d for m, d in zip(inputs, datagrams, strict=True))
        ours, theirs = [], []
        for k in range(0, n, 50):  # encoding only, alternating ours and python-osc's builders in blocks
            t0 = time.perf_counter()
            for r, i in frames[k : k + 50]:
                encoder.encode(r, i)
            t1 = time.perf_counter()
            for m in inputs[k : k + 50]:
                _builder_bundle(m)
            ours.append(t1 - t0)
            theirs.append(time.perf_counter() - t1)
        details["builder_encode_ratio"] = sum(theirs) / sum(ours)
        details["builder_encode_ms"] = sum(theirs) / n * 1e3
        sizes = [len(d) for d in datagrams]
        details["osc_bytes_median"] = statistics.median(sizes)
        details["osc_bytes_max"] = max(sizes)
        tuio_enc = TuioEncoder()
        details["tuio_bytes_max"] = max(len(tuio_enc.encode(r, i)) for r, i in frames)
        details["events_per_frame"] = statistics.fmean(len(i.events) for _, i in frames)
        details["send_errors"] = osc.stats()["errors"] + tuio.stats()["errors"]
    finally:
        osc.close()
        tuio.close()
        sink.close()
    return BenchResult("output.osc", details["osc_median_ms"], "ms/frame (OSC)", n, details)
