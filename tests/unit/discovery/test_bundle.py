"""The device bundle carries zeroconf and ifaddr as .py files only, and they announce.

The subprocess runs with `-S -I`: no site-packages, so nothing compiled from the
controller's venv can be imported; only the stdlib and the bundle's lib/.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import textwrap
import uuid
from pathlib import Path

from controller.agents import bundle
from controller.discovery.browser import Browser
from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.store import Store
from tests.conftest import wait_for


def _extract(tmp_path: Path) -> Path:
    with tarfile.open(bundle.build(tmp_path / "out")) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    return tmp_path / "unpacked" / "lib"


def test_the_bundle_holds_only_python_sources(tmp_path: Path) -> None:
    lib = _extract(tmp_path)
    files = [p.relative_to(lib) for p in lib.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".py"}
    tops = {p.parts[0] for p in files}
    assert {"agent", "zeroconf", "ifaddr", "prometheus_client", "pynvml.py"} <= tops
    assert (lib / "zeroconf" / "_dns.py").exists()  # the fallback of _dns.*.so


def test_the_bundled_pure_python_zeroconf_announces(tmp_path: Path, store: Store) -> None:
    lib = _extract(tmp_path)
    device_id = str(uuid.uuid4())
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(lib)!r})
        import zeroconf, ifaddr
        from zeroconf import _dns, _cache
        assert _dns.__file__.endswith(".py") and _cache.__file__.endswith(".py"), _dns.__file__
        from agent.discovery import Announcer, claim_hash
        txt = {{"id": {device_id!r}, "arch": "amd64", "agent_version": "0.1.0",
               "hostname": "bundled-{device_id[:8]}", "metrics_port": "9101",
               "claim": claim_hash("s" * 43)}}
        a = Announcer(txt, 9101, ["127.0.0.1"]).start()
        assert a.registered.wait(20), "not registered"
        print("announced", flush=True)
        sys.stdin.read()  # until the test closes stdin
        a.close()
    """)
    registry = Registry(store, None, DiscoverySettings())
    browser = Browser(registry, ("127.0.0.1",), refresh_s=0.2)
    browser.start()
    proc = subprocess.Popen([sys.executable, "-S", "-I", "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "announced\n", proc.stderr.read() if proc.stderr else ""
        wait_for(lambda: any(r["device_id"] == device_id for r in registry.list()), timeout=15)
        assert registry.get(device_id)["arch"] == "amd64"
    finally:
        proc.communicate(timeout=20)
        browser.stop()
    assert proc.returncode == 0
