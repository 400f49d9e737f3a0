"""The on-disk synthetic dataset: a sharded writer and a torch-free reader.

Layout of a dataset folder (``FORMAT`` = ``depthhand-synth``, version 1)::

    DIR/dataset.json                  # format, version, count, shard size, shard names, scene, seed, noise
    DIR/README.md                     # this description, for people who find the folder
    DIR/shard_00000/depth_000000.png  # uint16 depth in mm (0 = invalid), one per sample
    DIR/shard_00000/label_000000.png  # uint8 pixel labels: part + 4·(hand + 1); part 0 none, 1 hand, 2 arm, 3 other
    DIR/shard_00000/labels.npz        # per-sample arrays of the shard (n samples, up to MAX_HANDS hands):
        intrinsics (n, 7) float64     fx, fy, cx, cy, width, height, depth_unit_mm
        n_hands (n,) uint8
        handedness (n, 2) int8        0 left, 1 right, −1 no hand
        joints_xyz_mm (n, 2, 21, 3)   canonical-21 joints, camera mm (x right, y down, z forward); NaN padding
        joints_uvd (n, 2, 21, 3)      pixels and depth mm
        visibility (n, 2, 21) bool
        boxes_xyxy (n, 2, 4)          hand pixel box, edge coordinates
        center_xyz_mm (n, 2, 3)       palm centre (mean of wrist and finger MCPs)
        fingertip_height_mm (n, 2, 5) lowest point of each fingertip above the table (NaN: no table)
        touch (n, 2, 5) bool
        table_plane (n, 4)            n · p = d in camera mm (NaN: no table)

Sample ``i`` is generated from ``numpy.random.default_rng([seed, i])``, so the same seed gives identical data
whatever the shard size, and any sample can be regenerated alone. Files are written to a temporary name and
renamed; ``dataset.json`` is written last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.structures import CameraIntrinsics, Handedness

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
FORMAT = "depthhand-synth"
VERSION = 1
MAX_HANDS = 2
_HAND_CODE = {Handedness.LEFT: 0, Handedness.RIGHT: 1}


@dataclass(frozen=True, slots=True)
class SynthRecord:
    """One sample read back from disk (K = number of hands).

    Attributes:
        index: Sample index in the dataset.
        depth_mm: (H, W) float32 depth, mm, 0 = invalid.
        intrinsics: Camera.
        joints_xyz_mm: (K, 21, 3) canonical-21 joints, camera mm.
        joints_uvd: (K, 21, 3) pixels + depth mm.
        visibility: (K, 21) bool.
        boxes_xyxy: (K, 4) hand boxes, pixels.
        handedness: Per hand.
        center_xyz_mm: (K, 3) palm centres, mm.
        fingertip_height_mm: (K, 5) fingertip heights above the table (NaN without a table).
        touch: (K, 5) bool.
        table_plane: (4,) plane or None.
        part: (H, W) uint8 0 none, 1 hand, 2 arm, 3 other.
        owner: (H, W) int8 hand index per pixel (−1 none).
    """

    index: int
    depth_mm: F32
    intrinsics: CameraIntrinsics
    joints_xyz_mm: F64
    joints_uvd: F64
    visibility: npt.NDArray[np.bool_]
    boxes_xyxy: F32
    handedness: tuple[Handedness, ...]
    center_xyz_mm: F64
    fingertip_height_mm: F64
    touch: npt.NDArray[np.bool_]
    table_plane: F64 | None
    part: npt.NDArray[np.uint8]
    owner: npt.NDArray[np.int8]


def _write_png(path: Path, image: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode {path.name} as PNG")
    atomic.write_bytes(path, buf.tobytes(), fsync=False)  # one per frame, regenerable: rename only, no fsync


def _empty_labels(n: int) -> dict[str, npt.NDArray[np.generic]]:
    k = MAX_HANDS
    return {
        "intrinsics": np.zeros((n, 7)),
        "n_hands": np.zeros(n, np.uint8),
        "handedness": np.full((n, k), -1, np.int8),
        "joints_xyz_mm": np.full((n, k, 21, 3), np.nan, np.float32),
        "joints_uvd": np.full((n, k, 21, 3), np.nan, np.float32),
        "visibility": np.zeros((n, k, 21), bool),
        "boxes_xyxy": np.full((n, k, 4), np.nan, np.float32),
        "center_xyz_mm": np.full((n, k, 3), np.nan, np.float32),
        "fingertip_height_mm": np.full((n, k, 5), np.nan, np.float32),
        "touch": np.zeros((n, k, 5), bool),
        "table_plane": np.full((n, 4), np.nan),
    }


def write_dataset(
    out_dir: str | Path,
    count: int,
    scene: str = "topdown",
    seed: int = 0,
    noise: str | None = "default",
    shard_size: int = 1000,
    intrinsics: CameraIntrinsics | None = None,
    progress: bool = True,
) -> Path:
    """Render ``count`` samples of ``scene`` into ``out_dir`` (created if needed).

    Args:
        out_dir: Output folder.
        count: Number of samples.
        scene: Scene family (``scenes.SCENES``).
        seed: Master seed; sample i uses ``default_rng([seed, i])``.
        noise: Sensor family, ``"default"``, ``"random"`` or None (clean).
        shard_size: Samples per shard folder.
        intrinsics: Camera (default: the family's).
        progress: Show a tqdm progress bar.

    Returns:
        Path of the written ``dataset.json``.
    """
    from tqdm import tqdm

    from depthhand.synth.scenes import SCENES, render_scene, sample_scene

    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    if int(count) != count or count < 1 or int(shard_size) != shard_size or shard_size < 1:
        raise ValueError(f"count and shard_size must be positive integers, got {count}, {shard_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shards = []
    bar = tqdm(total=count, desc=f"synth {scene}", unit="frame", disable=not progress)
    for s0 in range(0, count, shard_size):
        n = min(shard_size, count - s0)
        name = f"shard_{s0 // shard_size:05d}"
        folder = out / name
        folder.mkdir(exist_ok=True)
        lab = _empty_labels(n)
        for j in range(n):
            i = s0 + j
            rng = np.random.default_rng([seed, i])
            sample = render_scene(sample_scene(scene, rng, intrinsics), rng, noise)
            intr = sample.intrinsics
            raw = np.clip(np.round(sample.depth_mm / intr.depth_unit_mm), 0, 65535).astype(np.uint16)
            _write_png(folder / f"depth_{i:06d}.png", raw)
            code = np.where(sample.part > 0, sample.part + 4 * (sample.owner.astype(np.int16) + 1), 0)
            _write_png(folder / f"label_{i:06d}.png", code.astype(np.uint8))
            k = len(sample.handedness)
            lab["intrinsics"][j] = [intr.fx, intr.fy, intr.cx, intr.cy, intr.width, intr.height, intr.depth_unit_mm]
            lab["n_hands"][j] = k
            lab["handedness"][j, :k] = [_HAND_CODE[h] for h in sample.handedness]
            lab["joints_xyz_mm"][j, :k] = sample.joints_xyz_mm
            lab["joints_uvd"][j, :k] = sample.joints_uvd
            lab["visibility"][j, :k] = sample.visibility
            lab["boxes_xyxy"][j, :k] = sample.boxes_xyxy
            lab["center_xyz_mm"][j, :k] = sample.center_xyz_mm
            lab["fingertip_height_mm"][j, :k] = sample.fingertip_height_mm
            lab["touch"][j, :k] = sample.touch
            if sample.table_plane is not None:
                lab["table_plane"][j] = sample.table_plane
            bar.update(1)
        with atomic.atomic_path(folder / "labels.npz") as tmp:
            np.savez(tmp, **lab)  # type: ignore[arg-type]
        shards.append({"name": name, "start": s0, "count": n})
    bar.close()
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "count": int(count),
        "shard_size": int(shard_size),
        "shards": shards,
        "scene": scene,
        "seed": int(seed),
        "noise": noise,
        "joint_set": "canonical21",
        "max_hands": MAX_HANDS,
        "axes": "camera mm, x right, y down, z forward; uvd = pixels + depth mm",
    }
    atomic.write_bytes(out / "README.md", (__doc__ or "").encode())
    path = out / "dataset.json"
    atomic.write_bytes(path, json.dumps(meta, indent=2).encode())
    return path


class SynthDatasetReader:
    """Random access to a dataset written by :func:`write_dataset` (numpy + OpenCV only, no torch).

    Example:
        >>> reader = SynthDatasetReader("data/synth_topdown")  # doctest: +SKIP
        >>> rec = reader[0]  # doctest: +SKIP
        >>> rec.depth_mm.shape, rec.joints_xyz_mm.shape  # doctest: +SKIP
        ((480, 640), (1, 21, 3))
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / "dataset.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: not a depthhand synthetic dataset folder")
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise ValueError(f"{path}: expected format {FORMAT!r} version {VERSION}, got {meta.get('format')!r}")
        self.meta = meta
        self._shards = [(s["name"], int(s["start"]), int(s["count"])) for s in meta["shards"]]
        self._labels: dict[str, dict[str, npt.NDArray[np.generic]]] = {}

    def __len__(self) -> int:
        return int(self.meta["count"])

    def _shard_of(self, index: int) -> tuple[str, int]:
        for name, start, n in self._shards:
            if start <= index < start + n:
                return name, index - start
        raise IndexError(f"sample {index} not in any shard of {self.root}")

    def _shard_labels(self, name: str) -> dict[str, npt.NDArray[np.generic]]:
        if name not in self._labels:
            with np.load(self.root / name / "labels.npz") as f:
                self._labels[name] = {k: f[k] for k in f.files}
        return self._labels[name]

    def num_hands(self, index: int) -> int:
        """Number of labelled hands in sample ``index`` (reads only the labels)."""
        name, j = self._shard_of(index % len(self))
        return int(self._shard_labels(name)["n_hands"][j])

    def __getitem__(self, index: int) -> SynthRecord:
        import cv2

        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        index = index % len(self)
        name, j = self._shard_of(index)
        lab = self._shard_labels(name)
        raw = cv2.imread(str(self.root / name / f"depth_{index:06d}.png"), cv2.IMREAD_UNCHANGED)
        code = cv2.imread(str(self.root / name / f"label_{index:06d}.png"), cv2.IMREAD_UNCHANGED)
        if raw is None or code is None:
            raise FileNotFoundError(f"{self.root / name}: depth/label PNG of sample {index} missing or unreadable")
        fx, fy, cx, cy, w, h, unit = (float(v) for v in lab["intrinsics"][j])
        intr = CameraIntrinsics(fx, fy, cx, cy, int(w), int(h), unit)
        k = int(lab["n_hands"][j])
        hand = {0: Handedness.LEFT, 1: Handedness.RIGHT}
        plane = lab["table_plane"][j].astype(np.float64)
        code16 = code.astype(np.int16)
        return SynthRecord(
            index=index,
            depth_mm=(raw.astype(np.float32) * np.float32(unit)),
            intrinsics=intr,
            joints_xyz_mm=lab["joints_xyz_mm"][j, :k].astype(np.float64),
            joints_uvd=lab["joints_uvd"][j, :k].astype(np.float64),
            visibility=lab["visibility"][j, :k].astype(bool),
            boxes_xyxy=lab["boxes_xyxy"][j, :k].astype(np.float32),
            handedness=tuple(hand[int(c)] for c in lab["handedness"][j, :k]),
            center_xyz_mm=lab["center_xyz_mm"][j, :k].astype(np.float64),
            fingertip_height_mm=lab["fingertip_height_mm"][j, :k].astype(np.float64),
            touch=lab["touch"][j, :k].astype(bool),
            table_plane=None if np.isnan(plane).any() else plane,
            part=np.where(code16 > 0, code16 % 4, 0).astype(np.uint8),
            owner=np.where(code16 > 0, code16 // 4 - 1, -1).astype(np.int8),
        )
