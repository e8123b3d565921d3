"""The zoo matches torchvision's architectures: exact parameter counts, torchvision's state_dict
key names and v1.5 strides, and MACs counted by FlopCounterMode within 1 % of torchvision's
published figures at 224x224. Counting runs on the meta device (shapes only, no arithmetic)."""

from __future__ import annotations

import pytest
import torch

from bench import zoo
from bench.counting import count
from bench.errors import BenchError
from bench.zoo.densenet import upgrade_state_dict

# torchvision.models.*: (parameters, published GMACs: the weights' `_ops` metadata)
TORCHVISION = {
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "mobilenet_v2": (3_504_872, 0.301),
    "efficientnet_b0": (5_288_548, 0.386),
    "densenet121": (7_978_856, 2.834),
}


def _meta(name):
    with torch.device("meta"):
        return zoo.entry(name).build(name).eval()


def test_zoo_has_the_families_the_issue_asks_for():
    assert set(zoo.ZOO) == set(TORCHVISION)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_params_equal_torchvision_and_macs_within_one_percent(name):
    params, gmacs = TORCHVISION[name]
    model = _meta(name)
    assert sum(p.numel() for p in model.parameters()) == params == zoo.card(name).params
    c = count(model, 224)
    assert c.macs / 1e9 == pytest.approx(gmacs, rel=0.01)
    assert c.flops == 2 * c.macs
    assert "FlopCounterMode" in c.counter
    assert zoo.card(name).published_gmacs == gmacs


def test_macs_scale_with_batch_and_input():
    model = _meta("resnet18")
    assert count(model, 224, batch=4).macs == 4 * count(model, 224).macs
    assert count(model, 32).macs < count(model, 224).macs / 40


@pytest.mark.parametrize(("name", "keys"), [
    ("resnet50", ["conv1.weight", "layer1.0.downsample.0.weight",
                  "layer1.0.downsample.1.running_var", "layer4.2.bn3.num_batches_tracked",
                  "fc.bias"]),
    ("resnet18", ["layer2.0.downsample.0.weight", "layer4.1.conv2.weight", "fc.weight"]),
    ("mobilenet_v2", ["features.0.0.weight", "features.1.conv.0.0.weight",
                      "features.1.conv.1.weight", "features.2.conv.3.running_mean",
                      "features.18.1.weight", "classifier.1.weight"]),
    ("efficientnet_b0", ["features.0.1.weight", "features.1.0.block.1.fc1.bias",
                         "features.2.0.block.3.1.running_var", "features.8.0.weight",
                         "classifier.1.weight"]),
    ("densenet121", ["features.conv0.weight", "features.denseblock1.denselayer1.norm1.weight",
                     "features.denseblock4.denselayer16.conv2.weight",
                     "features.transition3.conv.weight", "features.norm5.running_mean",
                     "classifier.bias"]),
])
def test_state_dict_keys_are_torchvision_s(name, keys):
    assert set(keys) <= set(_meta(name).state_dict())


def test_resnet_is_v1_5_stride_on_the_3x3():
    block = _meta("resnet50").layer2[0]
    assert (block.conv1.stride, block.conv2.stride) == ((1, 1), (2, 2))


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_every_model_runs_a_forward_pass(name):
    model, weights = zoo.load(name)
    assert weights == zoo.RANDOM and not model.training
    with torch.inference_mode():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 1000)


def test_local_weights_load_and_are_identified_by_sha256(tmp_path):
    model, _ = zoo.load("mobilenet_v2")
    path = tmp_path / "mnv2.pth"
    # A training checkpoint with a DataParallel prefix, as users have them.
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v
                                           for k, v in model.state_dict().items()}}, path)
    loaded, digest = zoo.load("mobilenet_v2", path)
    assert digest == zoo.sha256(path) and len(digest) == 64
    x = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(loaded(x), model(x))


def test_legacy_densenet_checkpoint_keys_are_renamed():
    state = {"features.denseblock1.denselayer1.norm.1.weight": torch.ones(1),
             "features.denseblock1.denselayer1.conv.2.weight": torch.ones(1),
             "features.transition1.norm.weight": torch.ones(1)}
    assert set(upgrade_state_dict(state)) == {"features.denseblock1.denselayer1.norm1.weight",
                                             "features.denseblock1.denselayer1.conv2.weight",
                                             "features.transition1.norm.weight"}


def test_bad_weights_are_clear_errors(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        zoo.load("resnet18", tmp_path / "missing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    with pytest.raises(BenchError, match="not a torch state_dict"):
        zoo.load("resnet18", junk)
    other = tmp_path / "mnv2.pth"
    torch.save(zoo.load("mobilenet_v2")[0].state_dict(), other)
    with pytest.raises(BenchError, match="does not fit resnet18: missing"):
        zoo.load("resnet18", other)
    fc = zoo.load("resnet18")[0].state_dict()
    fc["fc.weight"] = torch.zeros(10, 512)
    torch.save(fc, tmp_path / "r18-10cls.pth")
    with pytest.raises(BenchError, match="does not fit resnet18: .*size mismatch"):
        zoo.load("resnet18", tmp_path / "r18-10cls.pth")
    with pytest.raises(BenchError, match="unknown model 'resnet9'; the zoo has: resnet18"):
        zoo.load("resnet9")
