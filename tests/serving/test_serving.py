"""`python -m serving` as a real process: predictions match the model computed here, bad
input is answered and survived, bad manifests and weights stop it with one line, every
inference reaches the agent's real inference collector, and SIGTERM exits 0."""

from __future__ import annotations

import http.client
import json
import math
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from agent.collectors.base import CollectorContext
from agent.collectors.inference import InferenceCollector
from bench import zoo
from bench.preprocess import synthetic_image
from serving import manifest as manifests
from serving.http import MAX_BODY
from tests.serving.conftest import (
    MODEL,
    ROOT,
    SEED,
    reference_top5,
    run_serving,
    save_weights,
    serving_env,
    write_manifest,
)

pytestmark = pytest.mark.timeout(180)

JPEG = synthetic_image(320, 240)
PNG = synthetic_image(200, 300, "PNG")
PARTS = ("decode", "preprocess", "forward", "postprocess")


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    """The agent's inference collector on the socket the module's server reports to."""
    roots = tmp_path_factory.mktemp("roots")
    c = InferenceCollector(CollectorContext(proc_root=roots, sys_root=roots, etc_root=roots,
                                            which=lambda _name: None,
                                            inference_socket=roots / "run" / "inference.sock"))
    assert c.applies()
    yield c
    c.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, start_server, collector):
    served = start_server(write_manifest(tmp_path_factory.mktemp("model")),
                          collector._path)
    served.wait_ready()
    return served


@pytest.fixture(scope="module")
def seeded_model():
    torch.manual_seed(SEED)
    return zoo.load(MODEL)[0]


def _assert_answer(body, expected_top5):
    assert (body["model"], body["version"], body["variant"]) == (MODEL, "1.0", "fp32")
    assert [t["class"] for t in body["top"]] == expected_top5
    scores = [t["score"] for t in body["top"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    ms = body["latency_ms"]
    assert set(ms) == {*PARTS, "total"}
    assert all(ms[p] > 0 for p in PARTS)
    assert math.isclose(sum(ms[p] for p in PARTS), ms["total"], abs_tol=0.001)


def test_health_describes_the_served_model(server):
    status, body = server.request("GET", "/healthz")
    assert status == 200
    assert body == {"status": "ok", "model": MODEL, "version": "1.0", "variant": "fp32",
                    "input_size": 64, "weights_sha256": "random", "device": "cpu",
                    "accuracy": {"top1": 69.758, "top5": 89.078, "source": "model card: test"}}


@pytest.mark.parametrize(("image", "ctype"), [(JPEG, "image/jpeg"), (PNG, "image/png"),
                                              (JPEG, "application/octet-stream")])
def test_prediction_is_what_the_seeded_model_computes(server, seeded_model, image, ctype):
    status, body = server.predict(image, ctype)
    assert status == 200, body
    _assert_answer(body, reference_top5(seeded_model, image))


def test_bad_requests_are_answered_and_the_server_keeps_serving(server, seeded_model):
    cases = [
        (server.predict(b"\x00garbage" * 100), 400, "not a JPEG or PNG"),
        (server.predict(JPEG[: len(JPEG) // 3]), 400, "cannot be decoded"),
        (server.request("POST", "/predict"), 400, "body is empty"),
        (server.predict(synthetic_image(64, 64, "GIF")), 400, "not a JPEG or PNG"),
        (server.predict(JPEG, "text/plain"), 415, "Content-Type text/plain"),
        (server.request("POST", "/predict?repeat=3", JPEG), 400, "no query"),
        (server.request("GET", "/predict"), 405, "/predict takes POST"),
        (server.request("POST", "/healthz", b"x"), 405, "/healthz takes GET"),
        (server.request("GET", "/nope"), 404, "no such path /nope"),
    ]
    for (status, body), want_status, want_text in cases:
        assert status == want_status, body
        assert want_text in body["error"]
    status, body = server.predict(JPEG)
    assert status == 200
    _assert_answer(body, reference_top5(seeded_model, JPEG))


def test_oversize_body_is_refused_before_it_is_read(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/predict")
    conn.putheader("Content-Type", "image/jpeg")
    conn.putheader("Content-Length", str(MAX_BODY + 1))
    conn.endheaders()  # and not one byte of the body
    resp = conn.getresponse()
    assert resp.status == 413
    assert "over" in json.loads(resp.read())["error"]
    conn.close()
    assert server.predict(JPEG)[0] == 200


def _count(collector, now):
    samples = collector.collect(now)
    counts = [s.value for s in samples
              if s.name == "inference_count_total" and s.labels["model"] == MODEL]
    return counts[0] if counts else None


def test_every_inference_reaches_the_agent_collector(server, collector):
    assert server.predict(JPEG)[0] == 200
    deadline = time.monotonic() + 10
    before = None
    while before is None and time.monotonic() < deadline:  # what earlier tests reported
        time.sleep(0.2)
        before = _count(collector, time.time())
    n = 7
    for _ in range(n):
        assert server.predict(JPEG)[0] == 200
    after = None
    while after is None and time.monotonic() < deadline:  # the flusher sends within 0.5 s
        time.sleep(0.2)
        after = _count(collector, time.time())
    assert after == before + n


def test_weights_file_is_what_is_served(tmp_path, start_server):
    torch.manual_seed(1234)
    trained = zoo.load(MODEL)[0]
    name, digest = save_weights(tmp_path, trained)
    served = start_server(write_manifest(tmp_path, weights=name, weights_sha256=digest))
    assert served.wait_ready()["weights_sha256"] == digest
    status, body = served.predict(JPEG)
    assert status == 200
    _assert_answer(body, reference_top5(trained, JPEG))


def test_once_prints_the_same_answer_without_http(tmp_path, seeded_model):
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    proc = run_serving(write_manifest(tmp_path), tmp_path / "none.sock", "--once", str(image))
    assert proc.returncode == 0, proc.stderr
    _assert_answer(json.loads(proc.stdout), reference_top5(seeded_model, PNG))


def _one_error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert lines and " ERROR " in lines[-1], proc.stderr
    assert sum(" ERROR " in line for line in lines) == 1, proc.stderr
    return lines[-1]


def test_weights_that_do_not_fit_stop_the_server_with_one_line(tmp_path):
    name, digest = save_weights(tmp_path, zoo.load("mobilenet_v2")[0])
    proc = run_serving(write_manifest(tmp_path, weights=name, weights_sha256=digest),
                       tmp_path / "none.sock", "--port", "0", "--host", "127.0.0.1")
    assert proc.returncode == 2
    assert f"weights file {tmp_path / name} does not fit {MODEL}" in _one_error_line(proc)


def test_weights_not_matching_the_manifest_digest_stop_the_server(tmp_path):
    name, _ = save_weights(tmp_path, zoo.load(MODEL)[0])
    proc = run_serving(write_manifest(tmp_path, weights=name, weights_sha256="0" * 64),
                       tmp_path / "none.sock", "--port", "0", "--host", "127.0.0.1")
    assert proc.returncode == 2
    assert "the manifest says " + "0" * 64 in _one_error_line(proc)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"model": "resnet9000"}, "unknown model 'resnet9000'"),
    ({"variant": "int4"}, "variant 'int4' is unknown"),
    ({"schema": 2}, "schema 2 is not supported"),
])
def test_invalid_manifest_exits_2_with_one_line(tmp_path, overrides, message):
    proc = run_serving(write_manifest(tmp_path, **overrides), tmp_path / "none.sock")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in _one_error_line(proc)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"task": "detection"}, "task 'detection' is not served"),
    ({"input_size": 512}, "input_size must be an integer in [32, 224]"),
    ({"input_size": True}, "input_size must be an integer"),
    ({"seed": -1}, "seed must be an integer"),
    ({"version": "../x"}, "version must match"),
    ({"weights": "../w.pt", "weights_sha256": "a" * 64}, "a file name next to model.json"),
    ({"weights": "w.pt"}, "weights_sha256 must be the weights file's sha256"),
    ({"weights_sha256": "a" * 64}, 'weights_sha256 must be "random"'),
    ({"accuracy": {"top1": 101, "top5": 1, "source": "x"}}, "accuracy.top1 must be"),
    ({"accuracy": {"top1": 1, "top5": 1}}, "accuracy: missing source"),
    ({"extra": 1}, "unknown extra"),
])
def test_manifest_validation_names_the_field(tmp_path, overrides, message):
    with pytest.raises(manifests.ManifestError) as err:
        manifests.load(write_manifest(tmp_path, **overrides))
    assert message in str(err.value)


def test_manifest_missing_keys_and_non_json(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"schema": 1}')
    with pytest.raises(manifests.ManifestError, match="missing accuracy, input_size"):
        manifests.load(path)
    path.write_text("{nope")
    with pytest.raises(manifests.ManifestError, match="is not JSON"):
        manifests.load(path)
    with pytest.raises(manifests.ManifestError, match="cannot read manifest"):
        manifests.load(tmp_path / "absent.json")


def test_sigterm_finishes_the_request_in_flight_and_exits_0(tmp_path, start_server,
                                                            seeded_model):
    served = start_server(write_manifest(tmp_path))
    served.wait_ready()
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
    head = (f"POST /predict HTTP/1.0\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(JPEG)}\r\n\r\n").encode()
    sock.sendall(head + JPEG[:100])  # the request is in flight: its body half sent
    served.proc.send_signal(signal.SIGTERM)
    served.wait_line("stopping")
    sock.sendall(JPEG[100:])
    raw = b""
    for _ in range(1000):  # bounded: the answer is a few hundred bytes
        chunk = sock.recv(65536)
        if not chunk:
            break
        raw += chunk
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    _assert_answer(json.loads(body), reference_top5(seeded_model, JPEG))
    assert served.exit_code() == 0
    assert "stopped" in served.lines[-1]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", served.port), timeout=2)


def test_port_in_use_exits_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_serving(write_manifest(tmp_path), tmp_path / "none.sock",
                           "--host", "127.0.0.1", "--port", str(port))
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in _one_error_line(proc)


def test_manifest_is_required(tmp_path):
    env = serving_env(tmp_path / "none.sock")
    env.pop("EDGEFLEET_MODEL_MANIFEST", None)
    proc = subprocess.run([sys.executable, "-m", "serving"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert "no manifest" in proc.stderr
