"""Writers of tiny dataset fixtures in the exact on-disk formats.

Written independently of depthhand's readers (explicit byte layouts, explicit projection formulas in float64), so
the reader tests compare against an independent reference.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import scipy.io

NYU_K = (588.03, 587.07, 320.0, 240.0)
ICVL_K = (240.99, 240.96, 160.0, 120.0)
ICVL_DP_K = (241.42, 241.42, 160.0, 120.0)
MSRA_K = (241.42, 241.42, 160.0, 120.0)
SR300_K = (475.065948, 475.065857, 315.944855, 245.287079)

NYU14_IDS = [0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32]  # reference §1.1, written out independently
MSRA_GESTURES = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "I", "IP", "L", "MP", "RP", "T", "TIP", "Y"]


def project_down(xyz: np.ndarray, k: tuple[float, float, float, float]) -> np.ndarray:
    """(…, 3) camera mm, y down → uvd, float64, written out by hand."""
    fx, fy, cx, cy = k
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    return np.stack([x * fx / z + cx, y * fy / z + cy, z], axis=-1)


def backproject_down(uvd: np.ndarray, k: tuple[float, float, float, float]) -> np.ndarray:
    fx, fy, cx, cy = k
    u, v, d = uvd[..., 0], uvd[..., 1], uvd[..., 2]
    return np.stack([(u - cx) * d / fx, (v - cy) * d / fy, d], axis=-1)


def hand_xyz(rng: np.random.Generator, n_frames: int, n_joints: int, center=(20.0, -30.0, 600.0)) -> np.ndarray:
    """(N, J, 3) joints spread ±70 mm around ``center`` (camera mm, y down), distinct per joint."""
    spread = rng.uniform(-70.0, 70.0, size=(n_frames, n_joints, 3))
    spread[..., 2] *= 0.4
    return np.asarray(center, np.float64) + spread


def render_blob(
    joints_xyz: np.ndarray, k: tuple[float, float, float, float], shape_hw: tuple[int, int], radius: int = 3
) -> np.ndarray:
    """uint16 depth image with a disc at every projected joint, depth = round(z) mm, 0 elsewhere."""
    depth = np.zeros(shape_hw, np.uint16)
    uvd = project_down(joints_xyz, k)
    order = np.argsort(-uvd[:, 2])  # far first
    for u, v, d in uvd[order]:
        cv2.circle(depth, (round(u), round(v)), radius, round(d), thickness=-1)
    return depth


def write_png16(path: Path, depth: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), depth.astype(np.uint16))


def write_nyu_png(path: Path, depth_mm: np.ndarray) -> None:
    """NYU encoding: R = 0, G = depth >> 8, B = depth & 255; cv2 writes BGR (channel 0 = B)."""
    d = depth_mm.astype(np.uint32)
    bgr = np.zeros((*d.shape, 3), np.uint8)
    bgr[..., 0] = d % 256
    bgr[..., 1] = d // 256
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), bgr)


def write_nyu(root: Path, split: str, xyz36_down: np.ndarray, cam_offsets=(0.0, 5.0, 10.0)) -> None:
    """joint_data.mat ([3, N, 36, 3], xyz y UP) + camera-1 depth PNGs with a blob at the 36 joints."""
    n = xyz36_down.shape[0]
    xyz_up = np.empty((3, n, 36, 3))
    uvd = np.empty((3, n, 36, 3))
    for cam, off in enumerate(cam_offsets):
        down = xyz36_down + np.array([off, 0.0, 0.0])
        up = down.copy()
        up[..., 1] *= -1
        xyz_up[cam] = up
        fx, fy, cx, cy = NYU_K
        uvd[cam, ..., 0] = up[..., 0] * fx / up[..., 2] + cx
        uvd[cam, ..., 1] = cy - up[..., 1] * fy / up[..., 2]
        uvd[cam, ..., 2] = up[..., 2]
    names = np.array([f"J{i}" for i in range(36)], dtype=object)
    (root / split).mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(
        str(root / split / "joint_data.mat"), {"joint_names": names, "joint_xyz": xyz_up, "joint_uvd": uvd}
    )
    for i in range(n):
        depth = render_blob(xyz36_down[i], NYU_K, (480, 640))
        depth[depth == 0] = 2001
        write_nyu_png(root / split / f"depth_1_{i + 1:07d}.png", depth)


def write_label_lines(path: Path, names: list[str], values: np.ndarray, sep: str = " ") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join([name, *(f"{v:.6f}" for v in row.ravel())]) for name, row in zip(names, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def write_msra_bin(path: Path, depth: np.ndarray, left: int, top: int, right: int, bottom: int) -> None:
    """6 little-endian int32 (width, height, left, top, right, bottom) + float32 patch, row-major."""
    h, w = depth.shape
    header = np.array([w, h, left, top, right, bottom], "<i4").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + depth[top:bottom, left:right].astype("<f4").tobytes())


def write_msra_joints(path: Path, xyz_down: np.ndarray) -> None:
    """joint.txt: N, then N × 63 floats with y up and z negative."""
    stored = xyz_down.copy()
    stored[..., 1] *= -1
    stored[..., 2] *= -1
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [str(len(stored))] + [" ".join(f"{v:.6f}" for v in row.ravel()) for row in stored]
    path.write_text("\n".join(lines) + "\n")
