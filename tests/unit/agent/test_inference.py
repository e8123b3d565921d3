"""Live inference reporting: a runtime's InferenceReporter -> the agent's inference collector,
over a real UNIX datagram socket; samples go through the controller's own parser."""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from agent.collectors.identity import device_info
from agent.collectors.inference import InferenceCollector
from agent.inference import FLUSH_RECORDS, InferenceRecord, InferenceReporter, decode, encode
from agent.protocol import PROTOCOL_VERSION
from controller.telemetry.schemas import parse_push
from tests.unit.agent.helpers import FIXTURES, tree

NOW = 1763900000.0


def _by(samples, name, **labels):
    return [s for s in samples if s.name == name
            and all(s.labels.get(k) == v for k, v in labels.items())]


@pytest.fixture
def sock_path(tmp_path):
    return tmp_path / "run" / "inference.sock"


def test_interval_percentiles_counts_and_runtime_energy(make_ctx, sock_path):
    collector = InferenceCollector(make_ctx(inference_socket=sock_path))
    assert collector.applies()
    with InferenceReporter("resnet18", sock_path) as rep:
        for ms in range(1, 101):  # 1..100 ms, more than one batch
            rep.record(ms / 1000.0, energy_j=0.5)
        assert rep.sent == FLUSH_RECORDS  # the rest is sent on close
    samples = collector.collect(NOW)
    q = {s.labels["quantile"]: s.value for s in _by(samples, "inference_latency_seconds")}
    assert q == pytest.approx({"0.5": 0.0505, "0.9": 0.0901, "0.99": 0.09901})
    assert _by(samples, "inference_count_total")[0].value == 100
    energy = _by(samples, "inference_energy_joules")[0]
    assert (energy.value, energy.source, energy.unit) == (pytest.approx(0.5), "runtime", "joules")
    # Next interval: only its own records count for the percentiles; the count accumulates.
    with InferenceReporter("resnet18", sock_path) as rep, rep.measure():
        pass
    samples = collector.collect(NOW + 1)
    assert _by(samples, "inference_count_total")[0].value == 101
    assert len(_by(samples, "inference_latency_seconds")) == 3
    # An idle interval sends nothing for the model (no stale percentiles).
    assert collector.collect(NOW + 2) == []
    collector.close()
    assert not sock_path.exists()


def test_without_runtime_energy_the_device_energy_is_attributed(make_ctx, tmp_path, clock,
                                                                 sock_path):
    sys_root = tree(tmp_path, "sys_rapl")
    counter = sys_root / "class/powercap/intel-rapl-mmio:0/energy_uj"
    counter.write_text("0\n")
    collector = InferenceCollector(make_ctx(sys_root=sys_root, inference_socket=sock_path))
    assert collector.applies()
    with InferenceReporter("a", sock_path) as a, InferenceReporter("b", sock_path) as b:
        for _ in range(3):
            a.record(0.01)
        b.record(0.02)
    counter.write_text("8000000\n")  # 8 J over the interval, 4 inferences in all
    clock.tick(1.0)
    samples = collector.collect(NOW)
    energies = {s.labels["model"]: s for s in _by(samples, "inference_energy_joules")}
    assert energies["a"].value == pytest.approx(2.0)
    assert energies["b"].value == pytest.approx(2.0)
    assert energies["a"].source == "attributed"
    assert energies["a"].labels["energy_source"] == "rapl:counter"
    collector.close()


def test_malformed_datagrams_are_rejected_and_counted(make_ctx, sock_path):
    collector = InferenceCollector(make_ctx(inference_socket=sock_path))
    assert collector.applies()
    def body(**kw):
        return json.dumps({"v": 1, "model": "m", "records": [[0.1, None]], **kw}).encode()

    bad = [b"not json", b"[]", body(v=2), body(model="bad name!"), body(records=[]),
           body(records=[[-1, None]]), body(records=[[True, None]]), body(records=[[0.1, "1"]]),
           body(records=[[0.1]]), body(records=[[0.1, None]] * 2000)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        for data in bad:
            s.sendto(data, str(sock_path))
    with InferenceReporter("m", sock_path) as rep:
        rep.record(0.25)
    samples = collector.collect(NOW)
    assert _by(samples, "inference_rejected_count_total")[0].value == len(bad)
    assert _by(samples, "inference_count_total", model="m")[0].value == 1
    collector.close()


def test_reporter_never_raises_into_the_model_when_no_agent_listens(tmp_path):
    with InferenceReporter("resnet18", tmp_path / "absent.sock") as rep:
        rep.record(0.01)
        with rep.measure():
            pass
        assert rep.flush() is False
    assert (rep.sent, rep.dropped) == (0, 2)


def test_reporter_validates_what_the_runtime_passes(tmp_path):
    with pytest.raises(ValueError, match="model name"):
        InferenceReporter("no spaces", tmp_path / "s")
    with InferenceReporter("m", tmp_path / "s") as rep, pytest.raises(ValueError, match="range"):
        rep.record(float("nan"))
    assert decode(encode("m", [(0.5, 1.5), (0.25, None)])) == [InferenceRecord("m", 0.5, 1.5),
                                                             InferenceRecord("m", 0.25, None)]


def test_off_unless_a_socket_is_configured(make_ctx):
    assert not InferenceCollector(make_ctx()).applies()


def test_controller_accepts_the_samples(make_ctx, tmp_path, sock_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "machine-id").write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    ctx = make_ctx(etc_root=etc, proc_root=FIXTURES / "proc_x86",
                   sys_root=tree(tmp_path, "sys_rapl"), inference_socket=sock_path)
    collector = InferenceCollector(ctx)
    assert collector.applies()
    with InferenceReporter("resnet18/int8", sock_path) as rep:
        rep.record(0.02)
        rep.record(0.03, energy_j=0.1)
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"junk", str(sock_path))
    samples = collector.collect(NOW)
    collector.close()
    assert {s.name for s in samples} == {"inference_latency_seconds", "inference_count_total",
                                         "inference_energy_joules",
                                         "inference_rejected_count_total"}
    body = json.dumps({
        "protocol": PROTOCOL_VERSION, "device": device_info(ctx), "stream": uuid.uuid4().hex,
        "batch": {"first_seq": 1, "last_seq": len(samples)}, "dropped": {"total": 0},
        "samples": [s.wire(i) for i, s in enumerate(samples, start=1)]})
    assert len(parse_push(body.encode(), now=NOW, max_skew=60).samples) == len(samples)
