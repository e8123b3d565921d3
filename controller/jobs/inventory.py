"""Resolve an inventory + limit into concrete target hosts, using Ansible's own parser."""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.jobs.errors import InvalidRequest

# Variables that silently change behaviour when misspelled (a prototype had `nsible_port`).
KNOWN_VARS = (
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_connection",
    "ansible_python_interpreter",
    "ansible_ssh_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_become",
    "ansible_become_user",
    "ansible_become_method",
    "edgefleet_arch",
    "edgefleet_accelerator",
    "edgefleet_role",
    "edgefleet_controller_address",
)
_LIMIT = re.compile(r"^[A-Za-z0-9_.,:&!*\-\[\]]+$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Target:
    """One host a job will run against, as the inventory describes it."""

    name: str
    address: str | None
    groups: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "groups": list(self.groups)}


def _ansible_inventory(inventory: Path, limit: str | None) -> dict[str, Any]:
    cmd = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    if limit:
        cmd += ["--limit", limit]
    env = dict(
        os.environ,
        ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1",
        ANSIBLE_NOCOLOR="1",
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        reason = next(
            (ln for ln in lines if "ERROR" in ln), lines[-1] if lines else "unknown error"
        )
        raise InvalidRequest(f"inventory {inventory} could not be parsed: {reason}")
    return json.loads(proc.stdout)


def _groups_of(data: dict[str, Any]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, body in data.items():
        if group == "_meta" or not isinstance(body, dict):
            continue
        for host in body.get("hosts", []):
            groups.setdefault(host, []).append(group)
    return groups


def check_vars(hostvars: dict[str, dict[str, Any]]) -> None:
    """Reject near-miss spellings of connection variables before they misroute a job."""
    for host, variables in hostvars.items():
        for key in variables:
            if key in KNOWN_VARS:
                continue
            close = difflib.get_close_matches(key, KNOWN_VARS, n=1, cutoff=0.88)
            if close:
                raise InvalidRequest(
                    f"inventory host {host!r}: unknown variable {key!r} (did you mean {close[0]!r}?)"
                )


def resolve_targets(inventory: Path, limit: str | None) -> list[Target]:
    """Hosts the job will touch; a limit that matches nothing is an error, not an empty run."""
    if not inventory.exists():
        raise InvalidRequest(f"inventory {inventory} does not exist")
    if limit is not None and (not limit.strip() or not _LIMIT.match(limit)):
        raise InvalidRequest(f"limit {limit!r} is not a valid host pattern")
    data = _ansible_inventory(inventory, limit)
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    check_vars(hostvars)
    membership = _groups_of(data)
    names = sorted(set(membership) | set(hostvars))
    if not names:
        where = f"limit {limit!r}" if limit else "the inventory"
        raise InvalidRequest(f"{where} matches no host in {inventory}")
    for name in names:
        if not _HOST_NAME.match(name):
            raise InvalidRequest(f"inventory host name {name!r} has unsupported characters")
    return [
        Target(
            name=name,
            address=hostvars.get(name, {}).get("ansible_host"),
            groups=tuple(
                sorted(g for g in membership.get(name, []) if g not in ("all", "ungrouped"))
            ),
        )
        for name in names
    ]
