"""Extra vars: JSON objects of variable names only, no secrets, bounded size."""

from __future__ import annotations

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
