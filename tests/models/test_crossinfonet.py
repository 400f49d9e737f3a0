from __future__ import annotations

import pytest
import torch

from depthhand.models.complexity import count_macs, count_parameters
from depthhand.models.crossinfonet import CrossInfoNet
from depthhand.models.registry import create_model, get_model_cfg
from depthhand.skeleton import get_joint_set

# Published counts (reference §3.4, rebuilt from the released TensorFlow graph).
EXPECTED = {
    "crossinfonet_nyu14": ("nyu14", 23_837_184),
    "crossinfonet_icvl16": ("icvl16", 23_864_864),
    "crossinfonet_msra21": ("msra21", 23_934_064),
}


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[CrossInfoNet, dict[str, torch.Tensor]]]:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    out = {}
    for name in EXPECTED:
        model = create_model(name).eval()
        with torch.no_grad():
            outputs = model(torch.rand(2, 1, 96, 96) * 2 - 1)
        out[name] = (model, outputs)
    return out


@pytest.mark.parametrize("name", list(EXPECTED))
def test_parameter_count(built, name):
    model, _ = built[name]
    assert count_parameters(model) == EXPECTED[name][1]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_output_shapes(built, name):
    model, out = built[name]
    js = get_joint_set(EXPECTED[name][0])
    j, jp, jf = js.num_joints, len(js.palm), len(js.finger)
    assert get_model_cfg(model).joint_set == js.name
    assert (model.palm, model.finger) == (js.palm, js.finger)
    assert out["joints"].shape == (2, j, 3)
    assert out["hand"].shape == (2, 3 * j)
    assert out["palm"].shape == (2, jp, 3)
    assert out["finger"].shape == (2, jf, 3)
    assert out["hm_all"].shape == (2, j, 24, 24)
    assert out["hm_palm"].shape == (2, jp, 24, 24)
    assert out["hm_finger"].shape == (2, jf, 24, 24)
    assert torch.equal(out["joints"].reshape(2, -1), out["hand"])


def test_nyu_compute_matches_reference(built):
    # Reference: ≈0.554 GMAC per 96×96 crop (NYU); 20.97 M parameters in the four hidden FC layers.
    model, _ = built["crossinfonet_nyu14"]
    assert count_macs(model) == pytest.approx(0.554e9, rel=0.005)
    fc = sum(m.weight.numel() for m in (model.palm_fc[1][0], model.palm_fc[2][0], model.finger_fc[1][0],
                                         model.finger_fc[2][0]))  # fmt: skip
    assert fc == 2 * (9216 * 1024 + 1024 * 1024)


def test_no_bias_and_bn_after_outputs(built):
    model, _ = built["crossinfonet_nyu14"]
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            assert m.bias is None
    assert isinstance(model.out_hand[1], torch.nn.BatchNorm1d)


def test_cross_connection_uses_difference(built):
    # Zeroing the finger trunk's contribution must change the palm branch input through T − F0.
    model, _ = built["crossinfonet_nyu14"]
    x = torch.rand(1, 1, 96, 96) * 2 - 1
    with torch.no_grad():
        p1, t = model.forward_features(x)
        f0 = model.finger_trunk(t)
        p0 = model.palm_trunk(t)
        ref = model.palm_fc(torch.nn.functional.max_pool2d(model.palm_refine(torch.cat([p0, t - f0], 1)), 2, 2))
        out = model.forward_head(p1, t)
        assert torch.allclose(model.out_palm(ref).view(1, -1, 3), out["palm"], atol=1e-6)


def test_rejects_bad_input_size():
    with pytest.raises(ValueError, match="divisible by 32"):
        create_model("crossinfonet_nyu14", input_size=100)
