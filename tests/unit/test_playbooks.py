"""The playbook catalogue: only top-level, well-named files of the playbook dir are runnable."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.jobs import playbooks
from controller.jobs.errors import InvalidRequest


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    d = tmp_path / "playbooks"
    (d / "sub").mkdir(parents=True)
    for name in ("ping.yml", "time_sync.yml", "Bad-Name.yml", "notes.txt", "sub/hidden.yml"):
        (d / name).write_text("- hosts: all\n")
    (tmp_path / "outside.yml").write_text("- hosts: all\n")
    return d


def test_available_lists_only_catalogue_names(book_dir: Path) -> None:
    assert playbooks.available(book_dir) == ["ping", "time_sync"]


def test_resolve_maps_a_name_to_its_file(book_dir: Path) -> None:
    assert playbooks.resolve(book_dir, "ping") == book_dir / "ping.yml"


@pytest.mark.parametrize(
    "name",
    ["../outside", "../x", "sub/hidden", "ping.yml", "/etc/passwd", "Bad-Name", "", "PING", None],
)
def test_anything_outside_the_catalogue_is_an_unknown_playbook(book_dir: Path, name: str) -> None:
    with pytest.raises(InvalidRequest, match="unknown playbook") as info:
        playbooks.resolve(book_dir, name)
    assert "available: ping, time_sync" in str(info.value)
