"""A real `python -m serving` process on loopback, a manifest writer, and the reference model.

The server runs as a subprocess of the venv's python on a port it picks itself (--port 0,
read back from its "listening" log line), with one torch thread so the reference model in
the test process computes the same floats.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from bench import zoo
from bench.preprocess import Preprocess

ROOT = Path(__file__).resolve().parents[2]
MODEL, SIZE, SEED = "resnet18", 64, 0
START_TIMEOUT_S = 60.0


def manifest_body(**overrides: Any) -> dict[str, Any]:
    body = {"schema": 1, "task": "image-classification", "model": MODEL, "version": "1.0",
            "variant": "fp32", "input_size": SIZE, "weights": None, "seed": SEED,
            "weights_sha256": "random",
            "accuracy": {"top1": 69.758, "top5": 89.078, "source": "model card: test"}}
    body.update(overrides)
    return body


def write_manifest(directory: Path, **overrides: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.json"
    path.write_text(json.dumps(manifest_body(**overrides)))
    return path


def save_weights(directory: Path, model: torch.nn.Module) -> tuple[str, str]:
    """A state_dict next to model.json: (file name, sha256) for the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "weights.pt"
    torch.save(model.state_dict(), path)
    return path.name, hashlib.sha256(path.read_bytes()).hexdigest()


def reference_top5(model: torch.nn.Module, image: bytes, size: int = SIZE) -> list[int]:
    """What the same model computes here, through bench's own input path."""
    torch.set_num_threads(1)
    x = Preprocess(zoo.card(MODEL), size)(image).unsqueeze(0)
    with torch.inference_mode():
        return model(x).softmax(dim=1)[0].topk(5).indices.tolist()


def serving_argv(manifest: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "serving", "--manifest", str(manifest), "--threads", "1",
            *extra]


def serving_env(socket_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "EDGEFLEET_INFERENCE_SOCKET": str(socket_path)}


def run_serving(manifest: Path, socket_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """A serving process that is expected to end by itself (errors, --once)."""
    return subprocess.run(serving_argv(manifest, *extra), env=serving_env(socket_path),
                          capture_output=True, text=True, timeout=START_TIMEOUT_S, cwd=ROOT)


class Served:
    """A running server: its port, its stderr lines so far, and requests to it."""

    def __init__(self, manifest: Path, socket_path: Path) -> None:
        self.proc = subprocess.Popen(
            serving_argv(manifest, "--host", "127.0.0.1", "--port", "0"),
            env=serving_env(socket_path), stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        listening = self.wait_line("listening on http://127.0.0.1:")
        self.port = int(listening.split("127.0.0.1:")[1].split(",")[0])

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text: str) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            for line in self.lines:
                if text in line:
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line with {text!r}; stderr: {self.lines}")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, json.loads(data) if data else {}
        finally:
            conn.close()

    def predict(self, image: bytes, ctype: str = "image/jpeg") -> tuple[int, dict[str, Any]]:
        return self.request("POST", "/predict", image, {"Content-Type": ctype})

    def wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            status, body = self.request("GET", "/healthz")
            if status == 200:
                return body
            assert (status, body) == (503, {"status": "loading"})
            time.sleep(0.05)
        raise AssertionError("the server never became ready")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.exit_code()

    def exit_code(self) -> int:
        """Wait for an exit already asked for: a second SIGTERM that lands while Python is
        finalising (its handlers reset) would kill it with -15 instead."""
        rc = self.proc.wait(timeout=START_TIMEOUT_S)
        self._reader.join(timeout=5)
        return rc


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Served]]:
    """Starts servers that are stopped (SIGTERM) when the module ends."""
    started: list[Served] = []

    def start(manifest: Path, socket_path: Path | None = None) -> Served:
        sock = socket_path or tmp_path_factory.mktemp("sock") / "inference.sock"
        served = Served(manifest, sock)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()
