"""`edgefleet bench --controller URL`: measured here, stored on a real controller over HTTP
(the path the demo and a bench box use), and refused up front when the URL is malformed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from tests.browser.conftest import LocalController, local_controller

TINY = ["--variant", "fp32", "--iterations", "3", "--warmup", "0", "--e2e-iterations", "2",
        "--throughput-batch", "0", "--input-size", "32"]


@pytest.fixture(scope="module")
def ctl(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalController]:
    with local_controller(project, tmp_path_factory.mktemp("upload-home")) as c:
        yield c


def bench(*args: str, token: str | None) -> object:
    env = {"EDGEFLEET_API_TOKEN": token} if token else {}
    return CliRunner().invoke(app, ["bench", "mobilenet_v2", *TINY, *args], env=env)


def test_results_land_on_the_controller_under_the_named_device(ctl: LocalController) -> None:
    res = bench("--controller", ctl.url, "--device-name", "bench-box", "--json", token=ctl.token)
    assert res.exit_code == 0, res.output
    assert f"stored 1 result(s) for device bench-box on {ctl.url}" in res.stderr
    with ctl.client() as c:
        [row] = c.get("/api/benchmarks", params={"device": "bench-box"}).json()
    assert (row["model"], row["variant"], row["latency_ms"]["n"]) == ("mobilenet_v2", "fp32", 3)


def test_a_refused_upload_is_one_line_and_exit_2(ctl: LocalController) -> None:
    res = bench("--controller", ctl.url, token="not-the-token")
    assert res.exit_code == 2
    assert "/api/benchmarks: 401" in res.stderr


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://x", "http://"])
def test_a_url_without_scheme_or_host_is_refused_before_measuring(url: str) -> None:
    res = bench("--controller", url, token=None)
    assert res.exit_code == 2
    assert "give a URL like http://HOST:8080" in res.stderr


def test_following_a_record_is_bounded_by_an_injected_clock(ctl: LocalController,
                                                            monkeypatch) -> None:
    """remote.follow (bench-fleet, experiment) polls the real controller until the record is
    done, and gives up with a line naming where to look when the deadline passes."""
    from controller.cli import remote

    monkeypatch.setenv("EDGEFLEET_API_TOKEN", ctl.token)
    now = [0.0]
    seen: list[dict] = []

    def sleep(s: float) -> None:
        now[0] += s

    done = remote.follow(ctl.url, "/healthz", lambda r: False, 10, seen.append, "health",
                         clock=lambda: now[0], sleep=sleep)
    assert done == seen[0] and len(seen) == 1
    with pytest.raises(remote.ControllerRequestError, match="job x still running after 3 s"):
        remote.follow(ctl.url, "/healthz", lambda r: True, 3, seen.append, "job x",
                      clock=lambda: now[0], sleep=sleep)
    assert len(seen) == 1 + 4  # polls at t = 0, 1, 2, 3 (then the deadline)


def test_a_refused_bench_fleet_is_the_controllers_answer_in_one_line(
        ctl: LocalController) -> None:
    """This test controller's project has no bench.yml: its 422 is what the operator reads
    (the on-device path itself runs in tests/lab/test_demo.py)."""
    res = CliRunner().invoke(app, ["bench-fleet", "mobilenet_v2", "--controller", ctl.url],
                             env={"EDGEFLEET_API_TOKEN": ctl.token})
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "/api/benchmarks/run: 422 unknown playbook 'bench'" in lines[0]
