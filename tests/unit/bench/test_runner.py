"""The benchmark runner and `edgefleet bench`: the JSON contract `edgefleet select` codes
against, variants side by side, e2e path, trace export and input validation. Tiny inputs
(32x32) and few iterations: these tests are about behaviour, not speed."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from bench.errors import BenchError
from bench.preprocess import Preprocess, synthetic_image
from bench.runner import BenchConfig, Runner
from bench.zoo import card
from controller.cli.main import app

CONTRACT = {
    "model": str, "variant": str, "batch": int, "threads": int, "device": str, "params": int,
    "size_mb": float, "macs": int, "flops": int, "flops_counter": str, "latency_ms": dict,
    "e2e_latency_ms": dict, "throughput_ips": float, "peak_memory_mb": float,
    "accuracy_top1": float, "accuracy_top5": float, "accuracy_source": str, "weights": str,
    "energy_source": str, "energy_estimated": bool, "throttled": bool, "cpu_util": float,
    "host": str, "arch": str, "torch_version": str, "timestamp": str,
}
STATS = {"mean", "std", "min", "max", "p50", "p90", "p99", "n"}
TINY = dict(iterations=6, warmup=1, e2e_iterations=3, throughput_batch=2, input_size=32)


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    trace = tmp_path_factory.mktemp("trace") / "r18.json"
    config = BenchConfig(["resnet18"], variants=["fp32", "int8-dynamic"], trace=trace, **TINY)
    seen = []
    out = Runner(config, lambda what, done, total: seen.append((what, done, total))).run()
    return out, seen


def test_one_object_per_model_and_variant_with_the_contract_keys(rows):
    out, _ = rows
    assert [(r["model"], r["variant"]) for r in out] == [("resnet18", "fp32"),
                                                       ("resnet18", "int8-dynamic")]
    for r in out:
        for key, kind in CONTRACT.items():
            assert isinstance(r[key], kind), key
        assert set(r["latency_ms"]) == set(r["e2e_latency_ms"]) == STATS
        assert r["latency_ms"]["n"] == 6 and r["e2e_latency_ms"]["n"] == 3
        assert r["latency_ms"]["min"] <= r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] \
            <= r["latency_ms"]["max"]
        assert r["gpu_memory_mb"] is None and r["carbon_g"] is None
        assert r["energy_j"] is None or r["energy_j"] > 0
        assert (r["batch"], r["threads"], r["device"], r["arch"]) == (1, 2, "cpu", "amd64") or \
            r["arch"] in ("arm64", "amd64")
        assert r["params"] == 11_689_512 and r["flops"] == 2 * r["macs"]
        assert r["accuracy_top1"] == 69.758 and r["weights"] == "random"
        assert "ResNet18_Weights.IMAGENET1K_V1" in r["accuracy_source"]
        assert "random weights" in r["accuracy_source"]
        assert dt.datetime.fromisoformat(r["timestamp"]).utcoffset() == dt.timedelta(0)
        assert set(r["throughput_by_batch"]) == {"2"}


def test_int8_dynamic_shrinks_only_the_classifier(rows):
    fp32, int8 = rows[0]
    # fc is 512x1000 fp32 (~2 MB) -> int8 (~0.5 MB); the convolutions stay fp32.
    assert 1.0 < fp32["size_mb"] - int8["size_mb"] < 2.0
    assert fp32["size_mb"] == pytest.approx(11_689_512 * 4 / 2**20, rel=0.01)


def test_e2e_includes_decode_and_preprocessing(rows):
    for r in rows[0]:
        assert r["e2e_latency_ms"]["p50"] > r["latency_ms"]["min"]


def test_progress_is_reported_per_row(rows):
    _, seen = rows
    assert seen[0][1:] == (0, 2) and seen[-1] == ("done", 2, 2)


def test_trace_files_are_chrome_traces(rows):
    for r in rows[0]:
        with open(r["trace"]) as f:
            trace = json.load(f)
        names = {e.get("name") for e in trace["traceEvents"]}
        assert "inference#0" in names and any(str(n).startswith("aten::") for n in names)


def test_preprocess_decodes_resizes_crops_and_normalises():
    for fmt in ("JPEG", "PNG"):
        data = synthetic_image(fmt=fmt)
        assert Image.open(io.BytesIO(data)).format == fmt
        x = Preprocess(card("efficientnet_b0"))(data)
        assert x.shape == (3, 224, 224) and x.dtype == torch.float32
        assert -2.2 < x.min() < x.max() < 2.7  # ImageNet-normalised range
    assert Preprocess(card("resnet18"), 32)(synthetic_image()).shape == (3, 32, 32)


@pytest.mark.parametrize(("kw", "message"), [
    (dict(models=[]), "at least one model"),
    (dict(models=["vgg16"]), "unknown model 'vgg16'"),
    (dict(models=["resnet18"], device="tpu"), "device must be cpu or cuda"),
    (dict(models=["resnet18"], iterations=0), "iterations must be >= 1"),
    (dict(models=["resnet18"], batches=[0]), "batch sizes"),
    (dict(models=["resnet18"], variants=["fp16"]), "fp16 is benchmarked on CUDA only"),
    (dict(models=["resnet18"], variants=["int4"]), "unknown variant"),
    (dict(models=["resnet18", "resnet34"], weights="x.pth"), "belongs to one model"),
])
def test_bad_config_is_refused_before_anything_runs(kw, message):
    with pytest.raises(BenchError, match=message):
        Runner(BenchConfig(**kw))


def test_cli_json_is_the_list_and_bad_input_exits_2(tmp_path):
    cli = CliRunner()
    result = cli.invoke(app, ["bench", "mobilenet_v2", "--variant", "fp32", "--iterations", "3",
                              "--warmup", "0", "--e2e-iterations", "2", "--throughput-batch",
                              "0", "--input-size", "32", "--threads", "1", "--json",
                              "--output", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert json.loads((tmp_path / "out.json").read_text()) == listed
    assert [(r["model"], r["variant"], r["threads"]) for r in listed] == [
        ("mobilenet_v2", "fp32", 1)]
    assert listed[0]["throughput_by_batch"] == {}
    bad = cli.invoke(app, ["bench", "resnet9"])
    assert bad.exit_code == 2 and "unknown model 'resnet9'" in bad.output
    bad = cli.invoke(app, ["bench", "resnet18", "--weights", str(tmp_path / "none.pth")])
    assert bad.exit_code == 2 and "does not exist" in bad.output


def test_cli_zone_prices_carbon_per_inference_and_marks_the_fallback():
    """No Electricity Maps token in tests: the offline table prices it, and says so."""
    from controller.carbon import CarbonIntensity

    cli = CliRunner()
    args = ["bench", "mobilenet_v2", "--variant", "fp32", "--iterations", "3", "--warmup", "0",
            "--e2e-iterations", "2", "--throughput-batch", "0", "--input-size", "32",
            "--threads", "1", "--json"]
    result = cli.invoke(app, [*args, "--zone", "DE"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)[0]
    table = CarbonIntensity().for_zone("DE").g_per_kwh
    assert row["energy_j"] > 0
    assert row["carbon_g"] == pytest.approx(row["energy_j"] / 3.6e6 * table)
    assert row["carbon"]["intensity"]["fallback"] is True
    assert row["carbon"]["zone"] == "DE"
    bad = cli.invoke(app, [*args, "--zone", "DE; rm -rf /"])
    assert bad.exit_code == 2 and "zone" in bad.output
