from __future__ import annotations

import pytest
import torch

from depthhand.models.complexity import count_macs, count_parameters
from depthhand.models.fast import cell_anchors_uv
from depthhand.models.registry import create_model, get_model_cfg, list_models


@pytest.fixture(scope="module")
def fast():
    torch.manual_seed(0)
    return create_model("depthhand_fast", joint_set="canonical21").eval()


def test_registry_lists_all_models():
    assert {"crossinfonet_nyu14", "crossinfonet_icvl16", "crossinfonet_msra21", "depthhand_fast"} <= set(list_models())
    with pytest.raises(ValueError, match="unknown model"):
        create_model("nope")


def test_budget(fast):
    # Targets of the issue: <= 3 M parameters and <= 0.15 GMAC at 96x96.
    assert count_parameters(fast) <= 3_000_000
    assert count_macs(fast) <= 0.15e9
    # And far below CrossInfoNet (0.554 GMAC, 23.8 M).
    assert count_macs(fast) < 0.3 * 0.554e9


def test_mac_counter_on_a_known_network():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 5))
    assert count_macs(net, input_size=8) == 8 * 8 * 4 * 9 + 256 * 5


def test_shapes_and_joint_sets(fast):
    out = fast(torch.rand(2, 1, 96, 96) * 2 - 1)
    assert out["joints"].shape == (2, 21, 3)
    assert out["offsets"].shape == (2, 21, 3, 576)
    assert out["weights"].shape == (2, 21, 576)
    nyu = create_model("depthhand_fast", joint_set="nyu14")
    assert nyu(torch.zeros(1, 1, 96, 96))["joints"].shape == (1, 14, 3)
    assert get_model_cfg(nyu).output_space == "uvd_crop"


def test_anchor_positions():
    a = cell_anchors_uv(8, 4)  # two cells per side, centres at crop pixels 1.5 and 5.5
    expected = torch.tensor([(1.5 - 3.5) / 4, (5.5 - 3.5) / 4])
    assert torch.allclose(a[0], expected.repeat(2))
    assert torch.allclose(a[1], expected.repeat_interleave(2))


@torch.no_grad()
def test_votes_only_from_hand_pixels_and_weighted_mean(fast):
    patch = torch.ones(1, 1, 96, 96)
    patch[0, 0, 40:56, 32:48] = -0.2  # a 16x16 hand block = 4x4 cells
    out = fast(patch)
    w = out["weights"][0]
    fg = out["foreground"][0].bool()
    assert int(fg.sum()) == 16
    assert float(w[:, ~fg].sum()) < 1e-6
    assert torch.allclose(w.sum(-1), torch.ones(21))
    votes = out["anchors"][0].unsqueeze(0) + out["offsets"][0]
    expected = (votes * w.unsqueeze(1)).sum(-1)
    assert torch.allclose(out["joints"][0], expected, atol=1e-6)
    # Anchor depth of a hand cell is the hand depth.
    assert torch.allclose(out["anchors"][0, 2, fg], torch.full((16,), -0.2))
