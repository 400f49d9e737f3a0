"""Pinhole projection between image (u, v, depth) and camera-space millimetres, and the intrinsics-spec grammar.

depthhand's camera frame is the OpenCV one: x right, y **down**, z forward, in mm. Some datasets store labels with
y **up** (NYU, MSRA); :class:`Axes` names the convention and the functions convert explicitly.

Every place that takes a camera as text (``predict --intrinsics``, ``folder:DIR?intrinsics=``,
``openni://?intrinsics=``) goes through :func:`parse_intrinsics`; an intrinsics file is read and written by
:func:`read_intrinsics_json` / :func:`write_intrinsics_json`.

Example:
    >>> import numpy as np
    >>> from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz, xyz_to_uvd
    >>> k = INTRINSICS["nyu"]
    >>> xyz = uvd_to_xyz(np.array([[320.0, 240.0, 800.0]]), k)
    >>> xyz.tolist()
    [[0.0, 0.0, 800.0]]
    >>> np.allclose(xyz_to_uvd(xyz, k), [[320.0, 240.0, 800.0]])
    True
"""

from __future__ import annotations

import enum
import json
import math
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]


class Axes(enum.Enum):
    """Direction of the y axis of a camera-space coordinate array."""

    Y_DOWN = "y_down"
    Y_UP = "y_up"


INTRINSICS: dict[str, CameraIntrinsics] = {
    # The datasets' own cameras (see shared/reference/datasets-and-evaluation.md).
    "nyu": CameraIntrinsics(588.03, 587.07, 320.0, 240.0, 640, 480),  # a Kinect v1 (structured light)
    "icvl": CameraIntrinsics(240.99, 240.96, 160.0, 120.0, 320, 240),
    "icvl_deepprior": CameraIntrinsics(241.42, 241.42, 160.0, 120.0, 320, 240),
    "msra": CameraIntrinsics(241.42, 241.42, 160.0, 120.0, 320, 240),
    "hands17": CameraIntrinsics(475.065948, 475.065857, 315.944855, 245.287079, 640, 480),  # an SR300
    "fpha": CameraIntrinsics(475.065948, 475.065857, 315.944855, 245.287079, 640, 480),  # an SR300
    # Sensors. Only pinhole intrinsics: lens distortion is not modelled (small for the structured-light and
    # active-stereo cameras, a few % at the edge for Kinect v2, ~15 % at the NFOV edge of the Azure Kinect, and
    # the Azure WFOV modes are fisheye lenses whose pinhole model holds near the centre only).
    # Intel RealSense SR305, 640x480, raw unit 1/8 mm: ../shared/data/real/sr305-desk/README.md (that unit).
    "sr305": CameraIntrinsics(476.007, 476.007, 313.683, 242.755, 640, 480, depth_unit_mm=0.125),
    # Intel RealSense SR300, 640x480: the HANDS2017 / BigHand2.2M capture camera (an SR300, values as "hands17");
    # the SR300's default depth unit is 1/8 mm like the SR305's (same depth module).
    "sr300": CameraIntrinsics(475.065948, 475.065857, 315.944855, 245.287079, 640, 480, depth_unit_mm=0.125),
    # Orbbec Astra class (structured light), 640x480: nominal, the PrimeSense/OpenNI VGA focal length (570.3 px,
    # H FOV 58.6 deg) and a centred principal point; "astra_320" is the 320x240 (QVGA) mode, the same optics at
    # half the resolution (f/2, (c + 0.5)/2 - 0.5).
    "astra": CameraIntrinsics(570.3, 570.3, 319.5, 239.5, 640, 480),
    "astra_320": CameraIntrinsics(285.15, 285.15, 159.5, 119.5, 320, 240),
    # Kinect v1 320x240 mode: the NYU Kinect v1 at half the resolution (f/2, (c + 0.5)/2 - 0.5).
    "kinect_v1_320": CameraIntrinsics(294.015, 293.535, 159.75, 119.75, 320, 240),
    # Intel RealSense D435 (active stereo). 640x480: one unit's factory calibration as librealsense prints it,
    # quoted in public code (382.6 px; another unit in realsense-ros issue #2788 reads 384.2); 848x480: nominal
    # (that unit's 848-wide modes read 424.2 px, principal point ~ the centre).
    "d435": CameraIntrinsics(382.6, 382.6, 319.0, 246.3, 640, 480),
    "d435_848": CameraIntrinsics(424.0, 424.0, 424.0, 240.0, 848, 480),
    # Intel RealSense D415 (active stereo): nominal, from the D400 datasheet's depth FOV (May 2020, table 3-42:
    # V 40 deg in both modes, H 65 deg at 16:9 and 50 deg at VGA): f = 240 / tan(20 deg) = 659.4 px, centred
    # principal point; H FOV then 51.8 / 65.5 deg (within the datasheet's +-2 deg). Units vary by a few %.
    "d415": CameraIntrinsics(659.4, 659.4, 319.5, 239.5, 640, 480),
    "d415_848": CameraIntrinsics(659.4, 659.4, 423.5, 239.5, 848, 480),
    # Kinect v2 (time of flight), 512x424: the IR/depth camera parameters libfreenect2 reports for a typical
    # device (365.456 px, also quoted in public Kinect v2 point-cloud code).
    "kinect_v2": CameraIntrinsics(365.456, 365.456, 254.878, 205.395, 512, 424),
    # Azure Kinect (time of flight): one unit's factory depth calibration (normalised fx, fy = 0.49212, 0.49217,
    # cx, cy = 0.51227, 0.49451 of the 1024x1024 sensor; public calibration dump in panispani/3DReconstruct),
    # per mode as the Azure Kinect SDK derives it: c_px = c_norm * size - 0.5, NFOV = a (192, 180) px crop of the
    # sensor, 2x2 binning halves it. NFOV unbinned 640x576, NFOV binned 320x288, WFOV binned 512x512,
    # WFOV unbinned 1024x1024 (the WFOV lens is a 120 deg fisheye: pinhole near the centre only). The pinhole
    # FOV of NFOV (65 x 60 deg) is narrower than the SDK's 75 x 65 deg: the lens's barrel distortion, not modelled.
    "azure_nfov": CameraIntrinsics(503.928, 503.979, 332.064, 325.881, 640, 576),
    "azure_nfov_binned": CameraIntrinsics(251.964, 251.989, 165.782, 162.690, 320, 288),
    "azure_wfov_binned": CameraIntrinsics(251.964, 251.989, 261.782, 252.690, 512, 512),
    "azure_wfov": CameraIntrinsics(503.928, 503.979, 524.064, 505.881, 1024, 1024),
}
"""Intrinsics presets: the datasets' own cameras and the main depth-sensor families' modes (sources beside each)."""

INTRINSICS_SPEC_HELP = (
    f"a preset ({', '.join(sorted(INTRINSICS))}), fx,fy,cx,cy[,width,height] in px, or an intrinsics JSON file"
)
"""What :func:`parse_intrinsics` accepts, in words (for help texts and error messages)."""

SpecPath = str | os.PathLike[str]


def parse_intrinsics(
    spec: SpecPath,
    *,
    width: int | None = None,
    height: int | None = None,
    depth_unit_mm: float | None = None,
    base_dir: SpecPath | None = None,
) -> CameraIntrinsics:
    """The camera an intrinsics spec names; the one grammar for intrinsics given as text.

    The spec is, in this order of precedence:

    1. a preset name, a key of :data:`INTRINSICS` (``"sr305"``): that camera;
    2. the path of an existing intrinsics JSON file (:func:`read_intrinsics_json`; a relative path is looked up in
       the current directory, then in ``base_dir``); a :class:`~pathlib.Path` is always a file;
    3. ``fx,fy,cx,cy`` (px): the image size is ``width`` × ``height`` from the caller (there is no default; without
       them this form is refused), ``depth_unit_mm`` 1.0;
    4. ``fx,fy,cx,cy,width,height`` (px): the full camera, the size whole numbers.

    Numbers must pass :class:`~depthhand.structures.CameraIntrinsics`' checks: finite ``0 < fx, fy < 1e5`` px,
    finite ``cx``, ``cy``, positive whole ``width``, ``height``.

    Args:
        spec: The spec (surrounding spaces are ignored).
        width: Image width, px, for the ``fx,fy,cx,cy`` form (ignored by the other forms; the caller compares sizes).
        height: Image height, px, as ``width``.
        depth_unit_mm: mm per raw depth unit; overrides the spec's value (presets and files carry one) when given.
        base_dir: Folder in which a relative file spec is also looked up (a folder source's own folder).

    Returns:
        The camera.

    Raises:
        ValueError: Naming the spec and what was expected: unknown preset or missing file, wrong count of numbers,
            a field that is not a number, the size missing for ``fx,fy,cx,cy``, an out-of-range value, or an
            unreadable intrinsics file.

    Example:
        >>> parse_intrinsics("nyu").fx
        588.03
        >>> parse_intrinsics("500,500,319.5,239.5", width=640, height=480).width
        640
    """
    form = _classify(spec, base_dir)
    if isinstance(form, Path):
        k = read_intrinsics_json(form)
    elif isinstance(form, str):
        k = INTRINSICS[form]
    else:
        k = _from_numbers(str(spec).strip(), form, width, height)
    if depth_unit_mm is not None:
        try:
            k = CameraIntrinsics(k.fx, k.fy, k.cx, k.cy, k.width, k.height, depth_unit_mm)
        except ValueError as exc:
            raise ValueError(f"intrinsics {str(spec)!r} with depth unit {depth_unit_mm!r} mm: {exc}") from None
    return k


def intrinsics_spec_needs_size(spec: SpecPath, base_dir: SpecPath | None = None) -> bool:
    """Whether :func:`parse_intrinsics` needs the image size for ``spec`` (the ``fx,fy,cx,cy`` form)."""
    try:
        form = _classify(spec, base_dir)
    except ValueError:
        return False
    return isinstance(form, list) and len(form) == 4


def _classify(spec: SpecPath, base_dir: SpecPath | None) -> str | Path | list[float]:
    """A preset name (str), an existing file (Path) or the 4 or 6 numbers (list); ValueError for anything else."""
    if isinstance(spec, os.PathLike):
        return _existing_file(Path(spec), base_dir, str(spec))
    if not isinstance(spec, str):
        raise ValueError(f"intrinsics spec must be text ({INTRINSICS_SPEC_HELP}), got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise ValueError(f"intrinsics spec is empty; expected {INTRINSICS_SPEC_HELP}")
    if text in INTRINSICS:
        return text
    path = _find_file(Path(text), base_dir)
    if path is not None:
        return path
    parts = [p.strip() for p in text.split(",")]
    values = []
    for part in parts:
        try:
            values.append(float(part))
        except ValueError:
            if len(parts) == 1:
                raise ValueError(
                    f"intrinsics {text!r} is neither a preset nor an existing file; expected {INTRINSICS_SPEC_HELP}"
                ) from None
            raise ValueError(
                f"intrinsics {text!r}: {part!r} is not a number; expected fx,fy,cx,cy[,width,height] in px"
            ) from None
    if len(values) not in (4, 6):
        raise ValueError(
            f"intrinsics {text!r} has {len(values)} number(s); expected fx,fy,cx,cy or fx,fy,cx,cy,width,height (px)"
        )
    return values


def _find_file(path: Path, base_dir: SpecPath | None) -> Path | None:
    if path.is_file():
        return path
    if base_dir is not None and not path.is_absolute() and (Path(base_dir) / path).is_file():
        return Path(base_dir) / path
    return None


def _existing_file(path: Path, base_dir: SpecPath | None, spec: str) -> Path:
    found = _find_file(path, base_dir)
    if found is None:
        raise ValueError(f"intrinsics file {spec} does not exist; expected {INTRINSICS_SPEC_HELP}")
    return found


def _from_numbers(text: str, values: list[float], width: int | None, height: int | None) -> CameraIntrinsics:
    fx, fy, cx, cy = values[:4]
    if len(values) == 6:
        if not all(math.isfinite(v) and v.is_integer() and v > 0 for v in values[4:]):
            raise ValueError(
                f"intrinsics {text!r}: width and height must be positive whole numbers of px, "
                f"got {values[4]:g}, {values[5]:g}"
            )
        width, height = int(values[4]), int(values[5])
    elif width is None or height is None:
        raise ValueError(
            f"intrinsics {text!r}: fx,fy,cx,cy needs the image size, which is not known here; "
            "give fx,fy,cx,cy,width,height"
        )
    try:
        return CameraIntrinsics(fx, fy, cx, cy, width, height)
    except ValueError as exc:
        raise ValueError(f"intrinsics {text!r}: {exc}") from None


def read_intrinsics_json(path: SpecPath) -> CameraIntrinsics:
    """Read an intrinsics file (the ``intrinsics.json`` of folder sources).

    The file is a JSON object in :meth:`CameraIntrinsics.to_dict` form: ``fx``, ``fy``, ``cx``, ``cy`` (px),
    ``width``, ``height`` (px) and optionally ``depth_unit_mm`` (mm per raw unit, default 1).

    Raises:
        ValueError: Naming the file: unreadable, not JSON, a missing or non-numeric field, an out-of-range value.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"intrinsics file {file}: cannot be read ({reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"intrinsics file {file}: not valid JSON ({exc})") from None
    try:
        return CameraIntrinsics.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"intrinsics file {file}: {exc}") from None


def write_intrinsics_json(path: SpecPath, intrinsics: CameraIntrinsics) -> Path:
    """Write ``intrinsics`` as an intrinsics file (the inverse of :func:`read_intrinsics_json`), atomically.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    from depthhand import atomic

    return atomic.write_json(path, intrinsics.to_dict(), indent=1, allow_nan=False)


def _as_points(points: ArrayLike, name: str) -> F64:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (..., 3), got {arr.shape}")
    return arr


def uvd_to_xyz(uvd: ArrayLike, intrinsics: CameraIntrinsics, axes: Axes = Axes.Y_DOWN) -> F64:
    """Back-project image points to camera millimetres.

    Args:
        uvd: (..., 3) pixels u, v and depth d in mm.
        intrinsics: The camera.
        axes: Y convention of the returned points.

    Returns:
        (..., 3) float64 xyz in mm: ``x = (u − cx)·d/fx``, ``y = ±(v − cy)·d/fy``, ``z = d``.
    """
    p = _as_points(uvd, "uvd")
    d = p[..., 2]
    x = (p[..., 0] - intrinsics.cx) * d / intrinsics.fx
    y = (p[..., 1] - intrinsics.cy) * d / intrinsics.fy
    if axes is Axes.Y_UP:
        y = -y
    return np.stack([x, y, d], axis=-1)


def xyz_to_uvd(xyz: ArrayLike, intrinsics: CameraIntrinsics, axes: Axes = Axes.Y_DOWN) -> F64:
    """Project camera-millimetre points to the image; the inverse of :func:`uvd_to_xyz`.

    Args:
        xyz: (..., 3) camera points in mm (z > 0).
        intrinsics: The camera.
        axes: Y convention of ``xyz``.

    Returns:
        (..., 3) float64 u, v in pixels and d = z in mm.
    """
    p = _as_points(xyz, "xyz")
    z = p[..., 2]
    y = -p[..., 1] if axes is Axes.Y_UP else p[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = p[..., 0] * intrinsics.fx / z + intrinsics.cx
        v = y * intrinsics.fy / z + intrinsics.cy
    return np.stack([u, v, z], axis=-1)


def inside_image(xyz: ArrayLike, intrinsics: CameraIntrinsics) -> npt.NDArray[np.bool_]:
    """Which camera points lie in front of the camera and project inside the image.

    A point counts when ``z > 0`` and its pixel ``(u, v) = (fx·x/z + cx, fy·y/z + cy)`` lies in
    ``[−0.5, W − 0.5) × [−0.5, H − 0.5)`` (the image's pixel area, pixel-centre convention).

    Args:
        xyz: (..., 3) camera points in mm (y down).
        intrinsics: The camera (its ``width`` and ``height`` are the image's).

    Returns:
        (...) bool.
    """
    p = _as_points(xyz, "xyz")
    z = p[..., 2]
    safe = np.where(z > 0, z, 1.0)
    u = p[..., 0] / safe * intrinsics.fx + intrinsics.cx
    v = p[..., 1] / safe * intrinsics.fy + intrinsics.cy
    inside: npt.NDArray[np.bool_] = (
        (z > 0) & (u >= -0.5) & (u < intrinsics.width - 0.5) & (v >= -0.5) & (v < intrinsics.height - 0.5)
    )
    return inside


def uv_in_view(uvd: ArrayLike, width: int, height: int) -> npt.NDArray[np.bool_]:
    """Which pixels ``(u, v)`` of ``uvd`` lie in ``[0, W) × [0, H)``.

    The in-view rule of the live benchmark's joints (:func:`depthhand.runner.joints_in_view`) and of the live-style
    detector labels.

    Args:
        uvd: (..., 3) or (..., 2) pixels u, v (a depth column is ignored).
        width: Image width, pixels.
        height: Image height, pixels.

    Returns:
        (...) bool.
    """
    p = np.asarray(uvd, np.float64)
    u, v = p[..., 0], p[..., 1]
    inside: npt.NDArray[np.bool_] = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    return inside


def flip_y(xyz: ArrayLike) -> F64:
    """Convert between the y-up and y-down conventions (its own inverse)."""
    p = _as_points(xyz, "xyz").copy()
    p[..., 1] = -p[..., 1]
    return p


def depth_to_points(depth_mm: npt.NDArray[np.floating], intrinsics: CameraIntrinsics) -> F64:
    """Back-project every valid pixel of a depth image.

    Args:
        depth_mm: (H, W) depth in mm, 0 = invalid.
        intrinsics: The camera.

    Returns:
        (N, 3) xyz mm of the N valid pixels, in row-major order.
    """
    v, u = np.nonzero(depth_mm > 0)
    d = depth_mm[v, u].astype(np.float64)
    return uvd_to_xyz(np.stack([u, v, d], axis=-1).astype(np.float64), intrinsics)


def points_to_depth(xyz_mm: ArrayLike, intrinsics: CameraIntrinsics) -> npt.NDArray[np.float32]:
    """Render points into a depth image with a z-buffer (nearest point wins); inverse of :func:`depth_to_points`.

    Args:
        xyz_mm: (N, 3) camera points in mm.
        intrinsics: The camera.

    Returns:
        (H, W) float32 depth in mm, 0 where no point lands.
    """
    uvd = xyz_to_uvd(xyz_mm, intrinsics)
    u = np.rint(uvd[:, 0]).astype(np.int64)
    v = np.rint(uvd[:, 1]).astype(np.int64)
    z = uvd[:, 2]
    ok = (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height) & (z > 0)
    u, v, z = u[ok], v[ok], z[ok]
    order = np.argsort(-z)  # far first, so nearer points overwrite
    depth = np.zeros((intrinsics.height, intrinsics.width), np.float32)
    depth[v[order], u[order]] = z[order]
    return depth
