"""Extra vars: JSON objects of variable names only, no secrets, bounded size."""

from __future__ import annotations

import re

import pytest

from controller.jobs import extravars
from controller.jobs.errors import InvalidRequest


def test_a_json_object_passes_through_unchanged() -> None:
    text = '{"sleep_s": 3, "servers": ["a", "b"], "opts": {"x": null}}'
    assert extravars.parse(text) == {"sleep_s": 3, "servers": ["a", "b"], "opts": {"x": None}}


def test_nothing_means_no_vars() -> None:
    assert extravars.validate(None) == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{sleep_s: 3}", "not valid JSON"),
        ('{"a": 1', "not valid JSON"),
        ("", "not valid JSON"),
        ('["sleep_s", 3]', "must be a JSON object"),
        ('"sleep_s=3"', "must be a JSON object"),
        ('{"1st": 1}', "not a valid Ansible variable name"),
        ('{"a-b": 1}', "not a valid Ansible variable name"),
        ('{"a b": 1}', "not a valid Ansible variable name"),
        ('{"ansible_password": "x"}', "looks like a secret"),
        ('{"ansible_become_pass": "x"}', "looks like a secret"),
        ('{"API_TOKEN": "x"}', "looks like a secret"),
        ('{"client_secret": "x"}', "looks like a secret"),
        ('{"ssh_private_key": "x"}', "looks like a secret"),
    ],
)
def test_malformed_or_secret_extra_vars_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason) as info:
        extravars.parse(text)
    assert "\n" not in str(info.value)


def test_oversized_extra_vars_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="exceed 64 KiB"):
        extravars.validate({"blob": "x" * 70_000})
    assert extravars.validate({"blob": "x" * 60_000})["blob"] == "x" * 60_000


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"x": "{{ lookup('pipe', 'id') }}"}, "extra_vars.x"),
        ({"x": "before {% if true %}x{% endif %}"}, "extra_vars.x"),
        ({"x": "{# comment #}"}, "extra_vars.x"),
        ({"cfg": {"items": [1, 2, "{{ 7 * 7 }}"]}}, "extra_vars.cfg.items[2]"),
        ({"cfg": [{"deep": {"er": ["{{x}}"]}}]}, "extra_vars.cfg[0].deep.er[0]"),
        ({"cfg": {"{{ x }}": 1}}, 'extra_vars.cfg["{{ x }}"]'),
        ({"cfg": {"odd\nkey": "{%"}}, 'extra_vars.cfg["odd\\nkey"]'),
    ],
)
def test_template_syntax_anywhere_is_refused_naming_its_path(value: dict, path: str) -> None:
    """Ansible templates every string of an extra var: `{{ lookup('pipe') }}` ran on the
    controller. Keys count too, at any depth, dicts inside lists included."""
    with pytest.raises(InvalidRequest, match="template syntax") as info:
        extravars.validate(value)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_braces_that_are_not_template_syntax_pass() -> None:
    value = {"json": '{"a": 1}', "set": "{ x }", "fmt": "%{y}#", "close": "}} %} #}"}
    assert extravars.validate(value) == value


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"cfg": {"db_password": "x"}}, "extra_vars.cfg.db_password"),
        ({"cfg": [{"ok": 1}, {"API_Token": "x"}]}, "extra_vars.cfg[1].API_Token"),
        ({"a": {"b": {"client_secret": None}}}, "extra_vars.a.b.client_secret"),
    ],
)
def test_nested_secret_keys_are_refused(value: dict, path: str) -> None:
    """A nested secret was stored in the job record, readable with the read-only token."""
    with pytest.raises(InvalidRequest, match=re.escape(f"extra var {path} looks like a secret")):
        extravars.validate(value)


def test_nesting_too_deep_is_a_reason_not_a_crash() -> None:
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidRequest, match="nest deeper than 32 levels"):
        extravars.validate({"x": deep})
    with pytest.raises(InvalidRequest, match="nest deeper than 32 levels"):
        extravars.parse('{"x": ' + "[" * 5000 + "]" * 5000 + "}")


@pytest.mark.parametrize(
    "key",
    [
        "ansible_connection", "ansible_host", "ansible_port", "ansible_user",
        "ansible_ssh_common_args", "ansible_ssh_executable", "ansible_become",
        "ansible_become_user", "ansible_python_interpreter", "ansible_shell_executable",
        "ANSIBLE_CONNECTION", "inventory_hostname", "hostvars",
    ],
)
def test_ansible_own_variables_need_the_inventory_allow_list(key: str) -> None:
    """Validation alone lets them by (the allow-list lives in the inventory); the check with
    the inventory's list refuses them unless listed, and names the path."""
    assert extravars.validate({key: "x"}) == {key: "x"}
    with pytest.raises(InvalidRequest, match="edgefleet_extra_vars_allow") as info:
        extravars.check_reserved({key: "x"}, frozenset)
    assert str(info.value).startswith(f"extra_vars.{key}: ")
    extravars.check_reserved({key: "x"}, lambda: {key})


def test_the_allow_list_is_exact_and_only_read_when_needed() -> None:
    allowed = {"ansible_python_interpreter"}
    with pytest.raises(InvalidRequest, match="extra_vars.ansible_port"):
        extravars.check_reserved(
            {"ansible_python_interpreter": "/x", "ansible_port": 2}, lambda: allowed
        )

    def no_inventory() -> frozenset[str]:
        raise AssertionError("the inventory was read for plain vars")

    extravars.check_reserved({"sleep_s": 1, "edgefleet_speedtest": False}, no_inventory)
