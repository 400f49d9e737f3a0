"""Named hand skeletons, their bones and palm/finger groups, and mappings between them.

Joint sets:

* :class:`Canonical21` — depthhand's own 21-joint hand (the MediaPipe order): wrist; thumb CMC, MCP, IP, tip;
  index/middle/ring/pinky MCP, PIP, DIP, tip. The synthetic generator labels this set.
* :class:`Nyu14` — the 14 NYU evaluation joints (ids 0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32 of 36).
* :class:`Icvl16` — palm, then thumb, index, middle, ring, pinky × (root, mid, tip).
* :class:`Msra21` — wrist, then index, middle, ring, pinky, thumb × (MCP, PIP, DIP, TIP).
* :class:`Hands17` — HANDS2017 / BigHand2.2M: wrist, five MCPs (thumb first), then per finger PIP, DIP, TIP.
* FPHA uses the HANDS2017 order (:data:`FPHA21` is that joint set under FPHA's name).

MSRA and BigHand name the thumb like a finger (MCP, PIP, DIP, TIP); by position these are the anatomical CMC,
MCP, IP and tip, which is how they map to :class:`Canonical21`.

Mappings (:func:`joint_mapping`) go through the canonical hand. A target joint is *exact* when it is the same
anatomical joint as a single canonical joint; *approximate* mappings (marked in :data:`JointMapping.exact`) are:

* NYU ``*_KNU2`` (second joint of each finger): ≈ PIP (ground truth puts it 35–57 mm from the tip);
  NYU thumb ``KNU3_B`` ≈ thumb IP and ``KNU2_B`` ≈ thumb MCP; NYU ``PALM_1``/``PALM_2`` (two wrist points) ≈ wrist;
  NYU ``PALM_3`` (palm centre) ≈ mean of the wrist and the four finger MCPs.
* ICVL "mid" ≈ PIP; ICVL palm ≈ mean of the wrist and the middle MCP.

The palm/finger groups are the splits CrossInfoNet's two branches use (NYU and MSRA from its training scripts;
ICVL inferred from the counts 16/6/10).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt


class Finger(enum.IntEnum):
    """The five digits."""

    THUMB = 0
    INDEX = 1
    MIDDLE = 2
    RING = 3
    PINKY = 4


class Canonical21(enum.IntEnum):
    """depthhand's canonical 21-joint hand."""

    WRIST = 0
    THUMB_CMC = 1
    THUMB_MCP = 2
    THUMB_IP = 3
    THUMB_TIP = 4
    INDEX_MCP = 5
    INDEX_PIP = 6
    INDEX_DIP = 7
    INDEX_TIP = 8
    MIDDLE_MCP = 9
    MIDDLE_PIP = 10
    MIDDLE_DIP = 11
    MIDDLE_TIP = 12
    RING_MCP = 13
    RING_PIP = 14
    RING_DIP = 15
    RING_TIP = 16
    PINKY_MCP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


class Nyu14(enum.IntEnum):
    """NYU's 14 evaluation joints, in the column order of every NYU label/result file."""

    PINKY_TIP = 0  # F1_KNU3_A
    PINKY_KNU2 = 1  # F1_KNU2_B (≈ PIP)
    RING_TIP = 2
    RING_KNU2 = 3
    MIDDLE_TIP = 4
    MIDDLE_KNU2 = 5
    INDEX_TIP = 6
    INDEX_KNU2 = 7
    THUMB_TIP = 8  # TH_KNU3_A
    THUMB_KNU3B = 9  # TH_KNU3_B (≈ IP)
    THUMB_KNU2B = 10  # TH_KNU2_B (≈ MCP)
    PALM_1 = 11  # wrist, back side
    PALM_2 = 12  # wrist
    PALM_3 = 13  # palm centre


NYU14_FROM_36: tuple[int, ...] = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
"""Indices of the 14 evaluation joints among NYU's 36 annotated joints."""


class Icvl16(enum.IntEnum):
    """ICVL's 16 joints."""

    PALM = 0
    THUMB_ROOT = 1
    THUMB_MID = 2
    THUMB_TIP = 3
    INDEX_ROOT = 4
    INDEX_MID = 5
    INDEX_TIP = 6
    MIDDLE_ROOT = 7
    MIDDLE_MID = 8
    MIDDLE_TIP = 9
    RING_ROOT = 10
    RING_MID = 11
    RING_TIP = 12
    PINKY_ROOT = 13
    PINKY_MID = 14
    PINKY_TIP = 15


class Msra21(enum.IntEnum):
    """MSRA-15's 21 joints (thumb last; its MCP is the anatomical CMC)."""

    WRIST = 0
    INDEX_MCP = 1
    INDEX_PIP = 2
    INDEX_DIP = 3
    INDEX_TIP = 4
    MIDDLE_MCP = 5
    MIDDLE_PIP = 6
    MIDDLE_DIP = 7
    MIDDLE_TIP = 8
    RING_MCP = 9
    RING_PIP = 10
    RING_DIP = 11
    RING_TIP = 12
    PINKY_MCP = 13
    PINKY_PIP = 14
    PINKY_DIP = 15
    PINKY_TIP = 16
    THUMB_MCP = 17
    THUMB_PIP = 18
    THUMB_DIP = 19
    THUMB_TIP = 20


class Hands17(enum.IntEnum):
    """HANDS2017 / BigHand2.2M / FPHA 21 joints."""

    WRIST = 0
    THUMB_MCP = 1
    INDEX_MCP = 2
    MIDDLE_MCP = 3
    RING_MCP = 4
    PINKY_MCP = 5
    THUMB_PIP = 6
    THUMB_DIP = 7
    THUMB_TIP = 8
    INDEX_PIP = 9
    INDEX_DIP = 10
    INDEX_TIP = 11
    MIDDLE_PIP = 12
    MIDDLE_DIP = 13
    MIDDLE_TIP = 14
    RING_PIP = 15
    RING_DIP = 16
    RING_TIP = 17
    PINKY_PIP = 18
    PINKY_DIP = 19
    PINKY_TIP = 20


C = Canonical21
_PALM_MCPS = (C.WRIST, C.INDEX_MCP, C.MIDDLE_MCP, C.RING_MCP, C.PINKY_MCP)

# Each target joint as {canonical joint: weight} and whether the correspondence is exact.
_Expr = tuple[dict[Canonical21, float], bool]


def _one(joint: Canonical21, exact: bool = True) -> _Expr:
    return ({joint: 1.0}, exact)


def _mean(joints: tuple[Canonical21, ...]) -> _Expr:
    return ({j: 1.0 / len(joints) for j in joints}, False)


_FROM_CANONICAL: dict[str, tuple[_Expr, ...]] = {
    "canonical21": tuple(_one(j) for j in C),
    "nyu14": (
        _one(C.PINKY_TIP),
        _one(C.PINKY_PIP, False),
        _one(C.RING_TIP),
        _one(C.RING_PIP, False),
        _one(C.MIDDLE_TIP),
        _one(C.MIDDLE_PIP, False),
        _one(C.INDEX_TIP),
        _one(C.INDEX_PIP, False),
        _one(C.THUMB_TIP),
        _one(C.THUMB_IP, False),
        _one(C.THUMB_MCP, False),
        _one(C.WRIST, False),
        _one(C.WRIST, False),
        _mean(_PALM_MCPS),
    ),
    "icvl16": (
        _mean((C.WRIST, C.MIDDLE_MCP)),
        _one(C.THUMB_MCP),
        _one(C.THUMB_IP, False),
        _one(C.THUMB_TIP),
        _one(C.INDEX_MCP),
        _one(C.INDEX_PIP, False),
        _one(C.INDEX_TIP),
        _one(C.MIDDLE_MCP),
        _one(C.MIDDLE_PIP, False),
        _one(C.MIDDLE_TIP),
        _one(C.RING_MCP),
        _one(C.RING_PIP, False),
        _one(C.RING_TIP),
        _one(C.PINKY_MCP),
        _one(C.PINKY_PIP, False),
        _one(C.PINKY_TIP),
    ),
    "msra21": (
        _one(C.WRIST),
        *(_one(C(C.INDEX_MCP + 4 * f + k)) for f in range(4) for k in range(4)),
        _one(C.THUMB_CMC),
        _one(C.THUMB_MCP),
        _one(C.THUMB_IP),
        _one(C.THUMB_TIP),
    ),
    "hands17": (
        _one(C.WRIST),
        _one(C.THUMB_CMC),
        _one(C.INDEX_MCP),
        _one(C.MIDDLE_MCP),
        _one(C.RING_MCP),
        _one(C.PINKY_MCP),
        _one(C.THUMB_MCP),
        _one(C.THUMB_IP),
        _one(C.THUMB_TIP),
        *(_one(C(C.INDEX_PIP + 4 * f + k)) for f in range(4) for k in range(3)),
    ),
}
_FROM_CANONICAL["fpha21"] = _FROM_CANONICAL["hands17"]


@dataclass(frozen=True, slots=True)
class JointSet:
    """A named skeleton.

    Attributes:
        name: Registry name (``"nyu14"``, ``"icvl16"``, ...).
        joints: The IntEnum naming each joint index.
        bones: (parent, child) index pairs for drawing and bone-length checks.
        palm: Indices of CrossInfoNet's palm branch.
        finger: Indices of CrossInfoNet's finger branch.
        tips: Index of each fingertip, keyed by :class:`Finger`.
    """

    name: str
    joints: type[enum.IntEnum]
    bones: tuple[tuple[int, int], ...]
    palm: tuple[int, ...]
    finger: tuple[int, ...]
    tips: tuple[tuple[Finger, int], ...]

    @property
    def num_joints(self) -> int:
        """Number of joints J."""
        return len(self.joints)

    @property
    def names(self) -> tuple[str, ...]:
        """Joint names in index order."""
        return tuple(j.name for j in self.joints)

    def tip(self, finger: Finger) -> int:
        """Index of ``finger``'s tip in this set."""
        return dict(self.tips)[finger]


def _chain_bones(root: int, chains: list[list[int]]) -> tuple[tuple[int, int], ...]:
    bones: list[tuple[int, int]] = []
    for chain in chains:
        prev = root
        for j in chain:
            bones.append((prev, j))
            prev = j
    return tuple(bones)


_ALL_FINGERS = tuple(Finger)

CANONICAL21 = JointSet(
    "canonical21",
    Canonical21,
    _chain_bones(0, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]),
    palm=(0, 1, 5, 9, 13, 17),
    finger=(2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20),
    tips=tuple(zip(_ALL_FINGERS, (4, 8, 12, 16, 20), strict=True)),
)
NYU14 = JointSet(
    "nyu14",
    Nyu14,
    ((0, 1), (1, 13), (2, 3), (3, 13), (4, 5), (5, 13), (6, 7), (7, 13), (8, 9), (9, 10), (10, 13), (13, 11), (13, 12)),
    palm=(1, 3, 5, 7, 9, 10, 11, 12, 13),
    finger=(0, 2, 4, 6, 8),
    tips=tuple(zip(_ALL_FINGERS, (8, 6, 4, 2, 0), strict=True)),
)
ICVL16 = JointSet(
    "icvl16",
    Icvl16,
    _chain_bones(0, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12], [13, 14, 15]]),
    palm=(0, 1, 4, 7, 10, 13),
    finger=(2, 3, 5, 6, 8, 9, 11, 12, 14, 15),
    tips=tuple(zip(_ALL_FINGERS, (3, 6, 9, 12, 15), strict=True)),
)
MSRA21 = JointSet(
    "msra21",
    Msra21,
    _chain_bones(0, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]),
    palm=(0, 1, 5, 9, 13, 17),
    finger=(2, 6, 10, 14, 18, 3, 7, 11, 15, 19, 4, 8, 12, 16, 20),
    tips=tuple(zip(_ALL_FINGERS, (20, 4, 8, 12, 16), strict=True)),
)
_H17_BONES = _chain_bones(0, [[1, 6, 7, 8], [2, 9, 10, 11], [3, 12, 13, 14], [4, 15, 16, 17], [5, 18, 19, 20]])
HANDS17 = JointSet(
    "hands17",
    Hands17,
    _H17_BONES,
    palm=(0, 1, 2, 3, 4, 5),
    finger=tuple(range(6, 21)),
    tips=tuple(zip(_ALL_FINGERS, (8, 11, 14, 17, 20), strict=True)),
)
FPHA21 = JointSet("fpha21", Hands17, _H17_BONES, HANDS17.palm, HANDS17.finger, HANDS17.tips)

JOINT_SETS: dict[str, JointSet] = {s.name: s for s in (CANONICAL21, NYU14, ICVL16, MSRA21, HANDS17, FPHA21)}


def get_joint_set(name: str) -> JointSet:
    """Look a joint set up by name.

    Raises:
        ValueError: For an unknown name (the message lists the known ones).
    """
    try:
        return JOINT_SETS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown joint set {name!r}; expected one of {sorted(JOINT_SETS)}") from None


@dataclass(frozen=True, slots=True)
class JointMapping:
    """A linear map from one joint set to another.

    Attributes:
        matrix: (J_dst, J_src) float64 weights; ``dst = matrix @ src`` for (J_src, 3) joints. Rows of joints that
            cannot be derived from the source are all zero and have ``defined`` False.
        exact: (J_dst,) True where the target is the same anatomical joint as a single source joint.
        defined: (J_dst,) True where the target can be computed from the source.
    """

    matrix: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    defined: npt.NDArray[np.bool_]

    def apply(self, joints: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Map (..., J_src, 3) joints to (..., J_dst, 3); undefined joints become NaN."""
        out: npt.NDArray[np.float64] = np.einsum("ds,...sc->...dc", self.matrix, np.asarray(joints, np.float64))
        out[..., ~self.defined, :] = np.nan
        return out


def _canonical_matrix(name: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    exprs = _FROM_CANONICAL[name]
    mat = np.zeros((len(exprs), len(Canonical21)), np.float64)
    exact = np.zeros(len(exprs), bool)
    for row, (weights, is_exact) in enumerate(exprs):
        for joint, w in weights.items():
            mat[row, int(joint)] = w
        exact[row] = is_exact
    return mat, exact


@cache
def joint_mapping(src: str, dst: str) -> JointMapping:
    """The mapping from joint set ``src`` to ``dst`` (through the canonical hand).

    From the canonical hand every joint of every set is defined. From another set, a target joint is defined
    when its canonical expression uses only canonical joints that the source holds as single joints.

    Example:
        >>> m = joint_mapping("msra21", "hands17")
        >>> bool(m.exact.all())
        True
    """
    src_set, dst_set = get_joint_set(src), get_joint_set(dst)
    dst_mat, dst_exact = _canonical_matrix(dst_set.name)
    src_mat, src_exact = _canonical_matrix(src_set.name)
    # For each canonical joint, the source joint that *is* it (single weight 1), preferring exact ones.
    canon_to_src: dict[int, tuple[int, bool]] = {}
    for s in range(src_mat.shape[0]):
        nz = np.flatnonzero(src_mat[s])
        if nz.size == 1:
            c = int(nz[0])
            if c not in canon_to_src or (src_exact[s] and not canon_to_src[c][1]):
                canon_to_src[c] = (s, bool(src_exact[s]))
    matrix = np.zeros((dst_mat.shape[0], src_mat.shape[0]), np.float64)
    exact = np.zeros(dst_mat.shape[0], bool)
    defined = np.zeros(dst_mat.shape[0], bool)
    for d in range(dst_mat.shape[0]):
        needed = np.flatnonzero(dst_mat[d])
        if all(int(c) in canon_to_src for c in needed):
            defined[d] = True
            for cj in needed.tolist():
                src_joint, _ = canon_to_src[cj]
                matrix[d, src_joint] += dst_mat[d, cj]
            exact[d] = bool(dst_exact[d]) and needed.size == 1 and canon_to_src[int(needed[0])][1]
    return JointMapping(matrix, exact, defined)
