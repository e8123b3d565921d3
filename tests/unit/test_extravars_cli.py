"""`-e` as operators type it for ansible-playbook: key=value words, JSON, @file, repeated."""

from __future__ import annotations

import pytest

from controller.jobs import extravars
from controller.jobs.errors import InvalidRequest


def test_key_value_words_json_and_files_merge_left_to_right(tmp_path):
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("serial: [1, '50%']\nmodel: resnet18\n")
    got = extravars.parse_cli(["model=mobilenet_v2 note='two words'", f"@{vars_file}",
                               '{"retries": 3}'])
    assert got == {"model": "resnet18", "note": "two words", "serial": [1, "50%"],
                   "retries": 3}


def test_key_value_values_stay_strings_as_in_ansible():
    assert extravars.parse_cli(["n=3 flag=true"]) == {"n": "3", "flag": "true"}


@pytest.mark.parametrize(("value", "reason"), [
    ("justaword", "give key=value, a JSON object or @file"),
    ("=x", "give key=value"),
    ("a='unclosed", "No closing quotation"),
    ('{"a": }', "not valid JSON"),
    ("bad-name=1", "not a valid Ansible variable name"),
    ('x="{{ lookup(\'pipe\') }}"', "template"),
    ("db_password=hunter2", "secret"),
])
def test_bad_values_are_one_clear_error(value, reason):
    with pytest.raises(InvalidRequest) as caught:
        extravars.parse_cli([value])
    assert reason in str(caught.value)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(InvalidRequest, match="cannot read extra vars file"):
        extravars.parse_cli([f"@{tmp_path / 'missing.yml'}"])
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    with pytest.raises(InvalidRequest, match="must hold a mapping"):
        extravars.parse_cli([f"@{tmp_path / 'list.yml'}"])
    (tmp_path / "bad.yml").write_text("a: [\n")
    with pytest.raises(InvalidRequest, match="is not JSON or YAML"):
        extravars.parse_cli([f"@{tmp_path / 'bad.yml'}"])
    (tmp_path / "date.yml").write_text("when: 2026-12-07\n")
    with pytest.raises(InvalidRequest, match=r"extra_vars.when is a date, not JSON data"):
        extravars.parse_cli([f"@{tmp_path / 'date.yml'}"])
