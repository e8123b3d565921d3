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


def test_verify_missing_build_then_verify_found(with_bases):
    url = with_bases.url
    common = ["--url", url, "--arch", "aarch64", "--task", "image-classification"]
    missing = run("verify", *common, "--model", "mobilenet_v2", "--json")
    assert missing.exit_code == 1, missing.output
    plan = json.loads(missing.stdout)["plan"]
    assert plan["action"] == "build" and plan["repo"] == "models/image-classification/mobilenet_v2"
    assert plan["platform"] == "linux/arm64"

    built = run("build", *common, "--model", "mobilenet_v2", "--input-size", "64",
                "--version", "2.1", "--base", BASE_REF, "--json")
    assert built.exit_code == 0, built.output
    pushed = json.loads(built.stdout)
    assert pushed["verified"]["manifest_digest"] == pushed["manifest_digest"]
    # The model layer carries what the image's server reads: zoo name, size, weights source.
    assert pushed["model"]["model"] == "mobilenet_v2" and pushed["model"]["input_size"] == 64
    assert pushed["model"]["weights"] is None and pushed["model"]["weights_sha256"] == "random"

    found = run("verify", *common)
    assert found.exit_code == 0, found.output
    pinned = found.stdout.strip().splitlines()[-1]
    repo = f"{with_bases.netloc}/models/image-classification/mobilenet_v2"
    assert pinned == f"{repo}@{pushed['manifest_digest']}"
    assert oracle.digest(f"{repo}:2.1-linux-arm64", "arm64") == pushed["manifest_digest"]
    # Substring of the task: no match, exit 1.
    assert run("verify", "--url", url, "--arch", "arm64", "--task", "image").exit_code == 1
    # x86 is not x86_64: refused as an unknown architecture (exit 2, one line).
    bad = run("verify", "--url", url, "--arch", "x86", "--task", "image-classification")
    assert bad.exit_code == 2 and "unknown architecture 'x86'" in bad.output

    listed = run("ls", "--url", url, "--json")
    assert listed.exit_code == 0, listed.output
    rows = {(r["repo"], r["tag"]): r for r in json.loads(listed.stdout)}
    row = rows[("models/image-classification/mobilenet_v2", "2.1")]
    assert row["platforms"] == ["linux/arm64"]
    assert (row["task"], row["model"], row["version"], row["accelerator"]) == (
        "image-classification", "mobilenet_v2", "2.1", "cpu")
    assert ("models/image-classification/mobilenet_v2", "2.1-linux-arm64") not in rows
    table = run("ls", "--url", url, env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "mobilenet_v2" in table.output
    # Off a terminal (a log) the table is not cut to 80 columns: every digest stays whole.
    logged = run("ls", "--url", url)
    assert all(r["digest"] in logged.output for r in rows.values()), logged.output


def test_bad_models_are_refused_before_anything_is_pushed(with_bases, tmp_path):
    """Unknown zoo model, weights of another architecture, unknown variant, a task the zoo
    doesn't serve: one line each, exit 2, and the registry gains no repository."""
    import torch

    from bench.zoo import load

    resnet, _ = load("resnet18")
    wrong = tmp_path / "resnet18.pt"
    torch.save(resnet.state_dict(), wrong)
    common = ["build", "--url", with_bases.url, "--arch", "amd64", "--base", BASE_REF]
    cases = [
        (["--task", "image-classification", "--model", "resnet19"], "unknown model 'resnet19'"),
        (["--task", "image-classification", "--model", "mobilenet_v2", "--weights", str(wrong)],
         "does not fit mobilenet_v2"),
        (["--task", "image-classification", "--model", "resnet18", "--variant", "int4"],
         "unknown variant 'int4'"),
        (["--task", "object-detection", "--model", "resnet18"], "not 'object-detection'"),
        (["--task", "image-classification", "--model", "resnet18", "--input-size", "4"],
         "input size 4 out of range"),
    ]
    before = run("ls", "--url", with_bases.url, "--json")
    for args, message in cases:
        out = run(*common, *args)
        assert out.exit_code == 2, out.output
        errors = [ln for ln in out.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], out.output
    assert run("ls", "--url", with_bases.url, "--json").stdout == before.stdout


def test_errors_exit_2_with_one_line(tmp_path):
    down = run("verify", "--url", f"http://127.0.0.1:{free_port()}", "--arch", "arm64",
               "--task", "image-classification")
    assert down.exit_code == 2
    assert "unreachable" in down.output and len(down.output.strip().splitlines()) == 1
    no_url = run("ls")
    assert no_url.exit_code == 2 and "EDGEFLEET_REGISTRY_URL" in no_url.output
    bad_task = run("verify", "--url", "http://127.0.0.1:1", "--arch", "arm64", "--task", "Car!")
    assert bad_task.exit_code == 2 and "invalid task" in bad_task.output
    bare = run("ls", "--url", "10.213.0.1:5000")  # no scheme: never guessed as https
    assert bare.exit_code == 2
    assert "has no scheme: give http://10.213.0.1:5000 or https://" in bare.output
