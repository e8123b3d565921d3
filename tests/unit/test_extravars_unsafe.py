"""Extra vars reach Ansible as `!unsafe` data: even a playbook that puts two of them side by
side (`"{{ a }}{{ b }}"`) cannot assemble a template out of them and run it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.config import Settings
from controller.jobs.manager import JobManager
from controller.store import Store
from tests.conftest import FIXTURES

CONCAT = """\
- name: Concatenate two operator values
  hosts: all
  gather_facts: false
  tasks:
    - name: Join them
      ansible.builtin.set_fact:
        joined: "{{ a }}{{ b }}"
    - name: Use the joined value (Ansible templates a fact's value again when it is used)
      ansible.builtin.set_fact:
        cacheable: true
        edgefleet_result: {joined: "{{ joined }}", nested: "{{ cfg.parts[0] }}"}
"""


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    project = shutil.copytree(FIXTURES / "project", tmp_path / "project")
    (project / "playbooks" / "concat.yml").write_text(CONCAT)
    settings = Settings(home=tmp_path / "home", project_dir=project,
                        inventory=project / "inventory.ini")
    store = Store(settings.db_url)
    mgr = JobManager(settings, store)
    yield mgr
    mgr.shutdown()
    store.dispose()


def test_values_side_by_side_stay_text(manager: JobManager, tmp_path: Path) -> None:
    marker = tmp_path / "ran-on-the-controller"
    pipe = f"{{ lookup('pipe', 'touch {marker}') }}}}"  # no `{{` of its own: passes validation
    job = manager.submit("concat", limit="local-a", extra_vars={
        "a": "{", "b": pipe, "cfg": {"parts": ["{", "x"]}})
    job = manager.wait(job["id"], timeout=120)
    assert job["status"] == "successful", job
    [host] = job["hosts"]
    assert host["result"] == {"joined": "{" + pipe, "nested": "{"}
    assert not marker.exists()
