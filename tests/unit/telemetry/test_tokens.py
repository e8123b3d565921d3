"""Device tokens: `edgefleet token create|list|revoke` and the install flow's ensure()."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from controller.cli.main import app
from controller.config import Settings
from controller.store import Store
from controller.store.telemetry import DeviceToken
from controller.telemetry import tokens
from controller.telemetry.errors import Unauthorized


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEFLEET_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def stored_hashes(home: Path) -> dict[str, str]:
    store = Store(Settings(home=home).db_url)
    with store.session() as s:
        out = {t.name: t.token_hash for t in s.scalars(select(DeviceToken))}
    store.dispose()
    return out


def test_create_prints_the_token_once_and_stores_only_its_hash(home: Path) -> None:
    res = cli("token", "create", "rpi-01")
    assert res.exit_code == 0, res.output
    token = res.stdout.strip()
    assert len(token) >= 43 and "\n" not in token
    assert stored_hashes(home) == {"rpi-01": tokens.hash_token(token)}
    listed = cli("token", "list", "--json")
    assert token not in listed.stdout and tokens.hash_token(token) not in listed.stdout
    assert [t["name"] for t in json.loads(listed.stdout)] == ["rpi-01"]
    assert token not in cli("token", "list").stdout


def test_create_refuses_a_second_token_unless_rotating(home: Path) -> None:
    first = cli("token", "create", "rpi-01").stdout.strip()
    again = cli("token", "create", "rpi-01")
    assert again.exit_code == 2 and "already has a token" in again.output
    rotated = cli("token", "create", "rpi-01", "--rotate").stdout.strip()
    assert rotated != first
    assert stored_hashes(home) == {"rpi-01": tokens.hash_token(rotated)}


def test_out_writes_a_private_file(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "rpi-01.token"
    out.write_text("old")
    out.chmod(0o644)
    res = cli("token", "create", "rpi-01", "--out", str(out))
    assert res.exit_code == 0, res.output
    token = out.read_text().strip()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert token not in res.stdout
    assert stored_hashes(home) == {"rpi-01": tokens.hash_token(token)}


def test_revoke_and_bad_names(home: Path) -> None:
    cli("token", "create", "rpi-01")
    assert cli("token", "revoke", "rpi-01").exit_code == 0
    assert stored_hashes(home) == {}
    missing = cli("token", "revoke", "rpi-01")
    assert missing.exit_code == 2 and "has no token" in missing.output
    bad = cli("token", "create", "rpi 01; rm -rf /")
    assert bad.exit_code == 2 and "not a valid device name" in bad.output


def test_ensure_creates_only_missing_tokens(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    existing = tokens.create(store, "a")
    issued = tokens.ensure(store, ["a", "b", "c", "b"])
    assert sorted(issued) == ["b", "c"]
    assert tokens.lookup(store, tokens.hash_token(existing)).name == "a"
    assert tokens.lookup(store, tokens.hash_token(issued["c"])).name == "c"
    assert tokens.ensure(store, ["a", "b", "c"]) == {}
    with pytest.raises(Unauthorized):
        tokens.lookup(store, tokens.hash_token("nope"))
    store.dispose()


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Token abc", "Bearer a b c", "Bearer " + "ü" * 43]
)
def test_malformed_authorization_headers(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        tokens.bearer_hash(header)
