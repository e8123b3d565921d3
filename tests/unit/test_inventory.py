"""Inventory + limit → target hosts, through Ansible's own parser, with the checks it lacks."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from controller.jobs import inventory as inventory_module
from controller.jobs.errors import InvalidRequest
from controller.jobs.inventory import check_vars, extra_vars_allow, resolve_targets


def write(tmp_path: Path, text: str, name: str = "hosts.ini") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fixture_inventory_resolves_to_named_hosts_with_groups_and_address(
    inventory: Path,
) -> None:
    targets = {t.name: t for t in resolve_targets(inventory, None)}
    assert sorted(targets) == ["local-a", "local-b", "unreach"]
    assert targets["local-a"].groups == ("edge",)
    assert targets["unreach"].groups == ("lost",)
    assert targets["unreach"].address == "127.0.0.1"
    assert targets["local-a"].address is None


@pytest.mark.parametrize(
    ("limit", "names"),
    [("edge", ["local-a", "local-b"]), ("all:!edge", ["unreach"]), ("local-b,unreach",
                                                                     ["local-b", "unreach"])],
)
def test_limit_selects_hosts(inventory: Path, limit: str, names: list[str]) -> None:
    assert [t.name for t in resolve_targets(inventory, limit)] == names


@pytest.mark.parametrize("limit", ["nosuchgroup", "edge:&lost"])
def test_limit_matching_nothing_is_an_error_not_an_empty_run(inventory: Path, limit: str) -> None:
    with pytest.raises(InvalidRequest, match="matches no host"):
        resolve_targets(inventory, limit)


@pytest.mark.parametrize("limit", ["", " ", "edge; rm -rf /", "$(id)", "a b", "@retry"])
def test_limit_that_is_not_a_host_pattern_is_refused(inventory: Path, limit: str) -> None:
    with pytest.raises(InvalidRequest, match="not a valid host pattern"):
        resolve_targets(inventory, limit)


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        resolve_targets(tmp_path / "nope.ini", None)


def test_near_miss_variable_is_caught_before_the_host_falls_back_to_port_22(
    tmp_path: Path,
) -> None:
    inv = write(tmp_path, "[rpi]\npi01 ansible_host=10.0.0.5 nsible_port=2222\n")
    with pytest.raises(InvalidRequest, match="'nsible_port' .*did you mean 'ansible_port'"):
        resolve_targets(inv, None)


def test_near_miss_in_group_vars_is_caught_too(tmp_path: Path) -> None:
    inv = write(tmp_path, "[rpi]\npi01\n[rpi:vars]\nansible_uesr=pi\n")
    with pytest.raises(InvalidRequest, match="did you mean 'ansible_user'"):
        resolve_targets(inv, None)


def test_legitimate_variables_are_not_mistaken_for_typos() -> None:
    check_vars({"pi01": {
        "ansible_ssh_port": 22, "ansible_ssh_user": "pi", "ansible_ssh_host": "x",
        "ansible_become_exe": "sudo", "edgefleet_arch": "arm64", "model_name": "yolo",
    }})


def test_password_in_inventory_is_refused(tmp_path: Path) -> None:
    inv = write(tmp_path, "[rpi]\npi01 ansible_host=10.0.0.5 ansible_become_pass=hunter2\n")
    with pytest.raises(InvalidRequest, match="sets ansible_become_pass; use SSH keys"):
        resolve_targets(inv, None)


def test_duplicate_host_in_one_group_is_refused(tmp_path: Path) -> None:
    inv = write(tmp_path, "[rpi]\npi01 ansible_host=10.0.0.5\npi02\npi01 ansible_host=10.0.0.6\n")
    with pytest.raises(InvalidRequest, match=r"hosts.ini:4: host 'pi01' listed twice in \[rpi\]"):
        resolve_targets(inv, None)


def test_host_defined_with_variables_twice_is_refused(tmp_path: Path) -> None:
    inv = write(tmp_path, "[rpi]\npi01 ansible_host=10.0.0.5\n[gpu]\npi01 ansible_host=10.0.0.9\n")
    with pytest.raises(InvalidRequest, match="already defined with variables at line 2"):
        resolve_targets(inv, None)


def test_a_host_in_two_groups_is_not_a_duplicate(tmp_path: Path) -> None:
    inv = write(
        tmp_path,
        "# fleet\n[rpi]\npi01 ansible_host=10.0.0.5\n[edge]\npi01\n[edge:vars]\nx=1\n",
    )
    [target] = resolve_targets(inv, None)
    assert (target.name, target.groups) == ("pi01", ("edge", "rpi"))


def test_duplicate_key_in_yaml_inventory_is_refused(tmp_path: Path) -> None:
    inv = write(
        tmp_path,
        "all:\n  hosts:\n    pi01: {ansible_host: 10.0.0.5}\n    pi01: {ansible_host: 10.0.0.6}\n",
        name="hosts.yml",
    )
    with pytest.raises(InvalidRequest, match="could not be parsed"):
        resolve_targets(inv, None)


def test_bare_second_token_is_a_parse_error_naming_the_line(tmp_path: Path) -> None:
    inv = write(tmp_path, "[rpi]\n10.0.0.5 pi01\n")
    expected = r"could not be parsed: line 2: Expected key=value host variable .*, got: pi01$"
    with pytest.raises(InvalidRequest, match=expected) as info:
        resolve_targets(inv, None)
    assert "\n" not in str(info.value)


def test_a_hanging_dynamic_inventory_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory_module, "_PARSE_S", 2)
    script = write(tmp_path, "#!/bin/sh\nsleep 30\necho '{}'\n", name="hang.sh")
    script.chmod(0o755)
    with pytest.raises(InvalidRequest, match="took over 2 s to parse"):
        resolve_targets(script, None)
    left = [p for p in psutil.process_iter(["cmdline"]) if str(script) in (p.info["cmdline"] or [])]
    assert left == [], "the inventory script must be killed with ansible-inventory"


@pytest.mark.parametrize(
    ("limit", "why"),
    [
        (",", "empty pattern"),  # Ansible drops empty patterns: `,` meant every host
        ("local-a,", "empty pattern"),
        (",local-a", "empty pattern"),
        ("local-a,,unreach", "empty pattern"),
        ("edge:", "empty pattern"),
        ("edge::lost", "empty pattern"),
        ("edge:!", "empty pattern"),
        ("&", "empty pattern"),
        ("edge\n", "control character or newline"),  # `$` matched before a final newline
        ("edge\r", "control character or newline"),
        ("ed\x00ge", "control character or newline"),
        ("edge\tlost", "control character or newline"),
    ],
)
def test_limit_with_an_empty_pattern_or_control_character_is_refused(
    inventory: Path, limit: str, why: str
) -> None:
    with pytest.raises(InvalidRequest, match=f"not a valid host pattern: .*{why}") as info:
        resolve_targets(inventory, limit)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("limit", "names"),
    [("edge:lost", ["local-a", "local-b", "unreach"]), ("edge[0:1]", ["local-a", "local-b"]),
     ("!lost", ["local-a", "local-b"]), ("edge:&edge", ["local-a", "local-b"])],
)
def test_colons_in_ranges_and_operators_still_work(
    inventory: Path, limit: str, names: list[str]
) -> None:
    assert [t.name for t in resolve_targets(inventory, limit)] == names


ALLOW_INVENTORY = """\
all:
  vars:
    edgefleet_extra_vars_allow: [ansible_python_interpreter, ansible_port]
  children:
    edge:
      hosts:
        local-a: {}
        local-b: {edgefleet_extra_vars_allow: [ansible_port, ansible_connection]}
"""


def test_extra_vars_allow_comes_from_all_and_a_host_can_only_narrow_it(tmp_path: Path) -> None:
    inv = write(tmp_path, ALLOW_INVENTORY, name="hosts.yml")
    assert extra_vars_allow(inv, ["local-a"]) == {"ansible_python_interpreter", "ansible_port"}
    # local-b's own list cannot add ansible_connection: only `all` grants.
    assert extra_vars_allow(inv, ["local-b"]) == {"ansible_port"}
    assert extra_vars_allow(inv, ["local-a", "local-b"]) == {"ansible_port"}


def test_extra_vars_allow_set_only_for_a_group_grants_nothing(tmp_path: Path) -> None:
    inv = write(tmp_path, "[edge]\nlocal-a\n[edge:vars]\n"
                          "edgefleet_extra_vars_allow=['ansible_connection']\n")
    assert extra_vars_allow(inv, ["local-a"]) == frozenset()


def test_extra_vars_allow_from_group_vars_all_and_no_list_at_all(
    tmp_path: Path, inventory: Path
) -> None:
    inv = write(tmp_path, "[edge]\nlocal-a\n")
    assert extra_vars_allow(inv, ["local-a"]) == frozenset()
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(
        "edgefleet_extra_vars_allow: [ansible_port]\n")
    assert extra_vars_allow(inv, ["local-a"]) == {"ansible_port"}
    assert extra_vars_allow(inventory, ["local-a"]) == frozenset()


def test_an_allow_list_that_is_not_a_list_of_names_is_refused(tmp_path: Path) -> None:
    inv = write(tmp_path, "[all:vars]\nedgefleet_extra_vars_allow=ansible_connection\n"
                          "[edge]\nlocal-a\n")
    with pytest.raises(InvalidRequest, match="must be a list of variable names"):
        extra_vars_allow(inv, ["local-a"])
