"""`python3 -m serving`: the model image's default command.

    python3 -m serving [--manifest PATH] [--host H] [--port P] [--threads N]
    python3 -m serving --once IMAGE_FILE      # one prediction, JSON on stdout, no HTTP

Defaults come from EDGEFLEET_MODEL_MANIFEST, EDGEFLEET_SERVING_HOST (0.0.0.0),
EDGEFLEET_SERVING_PORT (8500) and EDGEFLEET_INFERENCE_SOCKET (the agent's socket). The
port is bound before the model loads, so /healthz answers "loading" meanwhile. SIGTERM or
SIGINT: stop accepting, finish the requests in flight, send queued reports, exit 0.
Exit 2 with one line for a manifest, weights or variant this runtime cannot serve (or an
image --once cannot read); 1 when the port cannot be bound.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import torch

from agent.inference import DEFAULT_SOCKET
from bench.errors import BenchError
from serving import manifest as manifests
from serving.http import Server
from serving.manifest import Manifest
from serving.model import ImageError, Model
from serving.service import Service

log = logging.getLogger("edgefleet.serving")
# The main thread wakes this often to see whether a signal asked it to stop.
STOP_POLL_S = 0.5


def _args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="python3 -m serving", description=__doc__.split("\n")[0])
    p.add_argument("--manifest", type=Path, default=env.get("EDGEFLEET_MODEL_MANIFEST"),
                   help="model.json (default $EDGEFLEET_MODEL_MANIFEST)")
    p.add_argument("--host", default=env.get("EDGEFLEET_SERVING_HOST", "0.0.0.0"))  # noqa: S104
    p.add_argument("--port", type=int, default=env.get("EDGEFLEET_SERVING_PORT", "8500"),
                   help="0 picks a free port (logged)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default: torch's, one per core)")
    p.add_argument("--once", type=Path, metavar="IMAGE_FILE",
                   help="predict this file, print the JSON answer, exit")
    a = p.parse_args(argv)
    if a.manifest is None:
        p.error("no manifest: pass --manifest or set EDGEFLEET_MODEL_MANIFEST")
    if not 0 <= a.port <= 65535:
        p.error(f"--port {a.port} is not in [0, 65535]")
    if a.threads is not None and a.threads < 1:
        p.error("--threads must be >= 1")
    return a


def _once(m: Manifest, image: Path) -> int:
    try:
        data = image.read_bytes()
    except OSError as exc:
        raise BenchError(f"cannot read {image}: {exc.strerror or exc}") from None
    model = Model(m)
    try:
        p = model.predict(data)
    except ImageError as exc:
        raise BenchError(f"{image}: {exc}") from None
    print(json.dumps(model.body(p)))
    return 0


def _serve(m: Manifest, host: str, port: int) -> int:
    socket_path = Path(os.environ.get("EDGEFLEET_INFERENCE_SOCKET") or DEFAULT_SOCKET)
    service = Service(m, socket_path)
    try:
        server = Server((host, port), service)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror or exc)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    bound_host, bound_port = server.server_address[:2]
    http_thread = threading.Thread(target=server.serve_forever, name="http")
    http_thread.start()
    log.info("listening on http://%s:%d, loading %s %s %s", bound_host, bound_port, m.model,
             m.version, m.variant)
    code = 0
    try:
        service.load()
        log.info("ready: %s %s %s at %d px on %s, %d torch threads, reporting to %s", m.model,
                 m.version, m.variant, m.input_size, service.health()[1]["device"],
                 torch.get_num_threads(), socket_path)
        while not stop.wait(STOP_POLL_S):
            pass
        log.info("stopping: finishing requests in flight")
    except BenchError as exc:
        log.error("%s", exc)
        code = 2
    finally:
        server.shutdown()
        http_thread.join()
        server.server_close()  # joins the request threads
        service.close()
    if code == 0:  # after an error, its line stays the last one
        log.info("stopped")
    return code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s serving %(levelname)s %(message)s")
    a = _args(argv)
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    try:
        m = manifests.load(a.manifest)
        if a.once is not None:
            return _once(m, a.once)
    except BenchError as exc:
        log.error("%s", exc)
        return 2
    return _serve(m, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
