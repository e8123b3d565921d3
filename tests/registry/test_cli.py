"""`edgefleet registry ls|verify|build` against the real registry: output and exit codes 0/1/2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from controller.cli.main import app
from tests.registry import oracle
from tests.registry.images import BASE_REF
from tests.registry.server import free_port

runner = CliRunner()


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, ["registry", *args], env=env or {})


def test_verify_missing_build_then_verify_found(with_bases, weights):
    url = with_bases.url
    common = ["--url", url, "--arch", "aarch64", "--task", "object-detection"]
    missing = run("verify", *common, "--model", "yolo", "--json")
    assert missing.exit_code == 1, missing.output
    plan = json.loads(missing.stdout)["plan"]
    assert plan["action"] == "build" and plan["repo"] == "models/object-detection/yolo"
    assert plan["platform"] == "linux/arm64"

    built = run("build", *common, "--model", "yolo", "--weights", str(weights),
                "--version", "2.1", "--base", BASE_REF, "--json")
    assert built.exit_code == 0, built.output
    pushed = json.loads(built.stdout)
    assert pushed["verified"]["manifest_digest"] == pushed["manifest_digest"]

    found = run("verify", *common)
    assert found.exit_code == 0, found.output
    pinned = found.stdout.strip().splitlines()[-1]
    assert pinned == f"{with_bases.netloc}/models/object-detection/yolo@{pushed['manifest_digest']}"
    assert oracle.digest(f"{with_bases.netloc}/models/object-detection/yolo:2.1-linux-arm64",
                         "arm64") == pushed["manifest_digest"]
    # Substring of the task: no match, exit 1.
    assert run("verify", "--url", url, "--arch", "arm64", "--task", "object").exit_code == 1
    # x86 is not x86_64: refused as an unknown architecture (exit 2, one line).
    bad = run("verify", "--url", url, "--arch", "x86", "--task", "object-detection")
    assert bad.exit_code == 2 and "unknown architecture 'x86'" in bad.output

    listed = run("ls", "--url", url, "--json")
    assert listed.exit_code == 0, listed.output
    rows = {(r["repo"], r["tag"]): r for r in json.loads(listed.stdout)}
    row = rows[("models/object-detection/yolo", "2.1")]
    assert row["platforms"] == ["linux/arm64"]
    assert (row["task"], row["model"], row["version"], row["accelerator"]) == (
        "object-detection", "yolo", "2.1", "cpu")
    assert ("models/object-detection/yolo", "2.1-linux-arm64") not in rows
    table = run("ls", "--url", url, env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "object-detection" in table.output


def test_errors_exit_2_with_one_line(tmp_path):
    down = run("verify", "--url", f"http://127.0.0.1:{free_port()}", "--arch", "arm64",
               "--task", "image-classification")
    assert down.exit_code == 2
    assert "unreachable" in down.output and len(down.output.strip().splitlines()) == 1
    no_url = run("ls")
    assert no_url.exit_code == 2 and "EDGEFLEET_REGISTRY_URL" in no_url.output
    bad_task = run("verify", "--url", "http://127.0.0.1:1", "--arch", "arm64", "--task", "Car!")
    assert bad_task.exit_code == 2 and "invalid task" in bad_task.output
