from __future__ import annotations

import numpy as np
import pytest

from depthhand.skeleton import (
    CANONICAL21,
    HANDS17,
    ICVL16,
    JOINT_SETS,
    MSRA21,
    NYU14,
    NYU14_FROM_36,
    Canonical21,
    Finger,
    Msra21,
    get_joint_set,
    joint_mapping,
)


@pytest.mark.parametrize("js", list(JOINT_SETS.values()), ids=list(JOINT_SETS))
def test_groups_partition_and_bones_form_a_tree(js) -> None:
    n = js.num_joints
    assert sorted(js.palm + js.finger) == list(range(n))
    # a tree: n-1 bones, every joint reachable from the root
    assert len(js.bones) == n - 1
    adj: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in js.bones:
        adj[a].add(b)
        adj[b].add(a)
    seen, stack = {js.bones[0][0]}, [js.bones[0][0]]
    while stack:
        for nb in adj[stack.pop()] - seen:
            seen.add(nb)
            stack.append(nb)
    assert seen == set(range(n))
    assert {f for f, _ in js.tips} == set(Finger)
    for f, idx in js.tips:
        assert "TIP" in js.names[idx] and f.name in js.names[idx]


def test_crossinfonet_groups_match_reference() -> None:
    assert NYU14.palm == (1, 3, 5, 7, 9, 10, 11, 12, 13) and NYU14.finger == (0, 2, 4, 6, 8)
    assert MSRA21.palm == (0, 1, 5, 9, 13, 17)
    assert MSRA21.finger == (2, 6, 10, 14, 18, 3, 7, 11, 15, 19, 4, 8, 12, 16, 20)
    assert len(ICVL16.palm) == 6 and len(ICVL16.finger) == 10
    assert NYU14_FROM_36 == (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)


def test_canonical_to_every_set_is_defined(rng) -> None:
    canon = rng.normal(size=(5, 21, 3))
    for name in JOINT_SETS:
        m = joint_mapping("canonical21", name)
        assert m.defined.all()
        out = m.apply(canon)
        assert out.shape == (5, JOINT_SETS[name].num_joints, 3)


def test_exact_mappings_pick_the_named_joint(rng) -> None:
    canon = rng.normal(size=(21, 3))
    msra = joint_mapping("canonical21", "msra21").apply(canon)
    np.testing.assert_array_equal(msra[Msra21.RING_DIP], canon[Canonical21.RING_DIP])
    np.testing.assert_array_equal(msra[Msra21.THUMB_MCP], canon[Canonical21.THUMB_CMC])
    # msra -> hands17 -> msra is the identity (all exact)
    to_h = joint_mapping("msra21", "hands17")
    back = joint_mapping("hands17", "msra21")
    assert to_h.exact.all() and back.exact.all()
    np.testing.assert_allclose(back.apply(to_h.apply(msra)), msra)


def test_approximate_and_undefined_are_flagged(rng) -> None:
    m = joint_mapping("canonical21", "nyu14")
    assert not m.exact[NYU14.joints["PINKY_KNU2"]]  # KNU2 ~ PIP, approximate
    assert m.exact[NYU14.joints["PINKY_TIP"]]
    canon = rng.normal(size=(21, 3))
    palm = m.apply(canon)[13]
    ids = [
        Canonical21.WRIST,
        Canonical21.INDEX_MCP,
        Canonical21.MIDDLE_MCP,
        Canonical21.RING_MCP,
        Canonical21.PINKY_MCP,
    ]
    np.testing.assert_allclose(palm, canon[ids].mean(0))
    # NYU has no DIPs: those canonical joints are undefined from NYU
    back = joint_mapping("nyu14", "canonical21")
    assert not back.defined[Canonical21.INDEX_DIP]
    assert np.isnan(back.apply(rng.normal(size=(14, 3)))[Canonical21.INDEX_DIP]).all()
    assert back.defined[Canonical21.INDEX_TIP] and back.exact[Canonical21.INDEX_TIP]


def test_hands17_thumb_is_anatomical() -> None:
    m = joint_mapping("canonical21", "hands17")
    assert m.matrix[HANDS17.joints["THUMB_MCP"], Canonical21.THUMB_CMC] == 1.0
    assert CANONICAL21.tip(Finger.THUMB) == Canonical21.THUMB_TIP


def test_unknown_joint_set() -> None:
    with pytest.raises(ValueError, match="unknown joint set"):
        get_joint_set("bighand99")
