"""Resolve an inventory + limit into concrete target hosts, using Ansible's own parser."""

from __future__ import annotations

import difflib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE
from typing import Any, NoReturn

from controller.jobs.errors import InvalidRequest
from controller.jobs.extravars import ALLOW_VAR
from controller.jobs.playbooks import did_you_mean

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
    # Electricity Maps zone key of the device's grid (e.g. DE, KR, US-CAL-CISO): carbon.
    "edgefleet_carbon_zone",
    # Playbook tunables (see inventory/group_vars/all.yml).
    "edgefleet_targets",
    "edgefleet_ntp_servers",
    "edgefleet_allow_reboot",
    "edgefleet_upgrade_serial",
    "edgefleet_upgrade_max_fail_percentage",
    "edgefleet_apt_hold_patterns",
    "edgefleet_speedtest",
    "edgefleet_speedtest_seconds",
    "edgefleet_speedtest_port",
    "edgefleet_timesync_wait_s",
    "edgefleet_timesync_require_sync",
    # Reserved names (ansible_*, ...) extra vars may set anyway: set for `all` (see extravars).
    "edgefleet_extra_vars_allow",
)
# Passwords belong in SSH keys or Vault, never in inventory (they'd reach logs and job dirs).
_SECRET_VARS = (
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_pass",
    "ansible_become_password",
)
_LIMIT = re.compile(r"[A-Za-z0-9_.,:&!*\-\[\]]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# `:` separates patterns too, except inside a range such as `rpi[0:3]`.
_COLON_OUTSIDE_BRACKETS = re.compile(r":(?![^\[]*\])")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_.\-]+\Z")  # \Z: `$` would let a final newline by
_PARSE_S = 120  # a dynamic inventory script may hang; never let it hold a request forever
_PARSE_ERROR = re.compile(r":(\d+):\s+(.+?)(?=\n\[WARNING\]|\nERROR!|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Target:
    """One host a job will run against, as the inventory describes it."""

    name: str
    address: str | None
    groups: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "groups": list(self.groups)}


def _ansible_inventory(
    inventory: Path, limit: str | None, ansible_cfg: Path | None, *, export: bool = False
) -> Any:
    """Ansible's own view of the inventory (same parser, same config as the run itself).

    `export`: each group's own `vars` instead of every host's merged variables."""
    cmd = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    if limit:
        cmd.append(f"--limit={limit}")
    if export:
        cmd.append("--export")
    env = dict(
        os.environ,
        ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="1",
        ANSIBLE_DUPLICATE_YAML_DICT_KEY="error",
        ANSIBLE_NOCOLOR="1",
    )
    if ansible_cfg is not None and ansible_cfg.exists():
        env["ANSIBLE_CONFIG"] = str(ansible_cfg)
    # Own session: on timeout the whole group goes, including a dynamic inventory's children.
    with subprocess.Popen(
        cmd, stdout=PIPE, stderr=PIPE, text=True, env=env, start_new_session=True
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=_PARSE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise InvalidRequest(f"inventory {inventory} took over {_PARSE_S} s to parse") from None
    if proc.returncode != 0:
        raise InvalidRequest(f"inventory {inventory} could not be parsed: {_reason(stderr)}")
    return json.loads(stdout)


def _reason(stderr: str) -> str:
    """One line from ansible-inventory's stderr: the parser's own message if it gave one.

    That message sits in a warning that Ansible wraps at ~80 columns, path first, so take the
    text after `<path>:<line>:` up to the next message and unwrap it.
    """
    if found := _PARSE_ERROR.search(stderr):
        return f"line {found[1]}: {' '.join(found[2].split())}"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return next((ln for ln in lines if "ERROR" in ln), lines[-1] if lines else "unknown error")


def check_duplicates(inventory: Path) -> None:
    """Reject an INI host defined twice: Ansible merges silently, the later line winning."""
    files = sorted(inventory.iterdir()) if inventory.is_dir() else [inventory]
    for path in files:
        # YAML duplicates are caught by Ansible itself; executables are dynamic inventories.
        ini = path.suffix not in (".yml", ".yaml", ".json") and not os.access(path, os.X_OK)
        if path.is_file() and ini:
            _check_ini_duplicates(path)


def _check_ini_duplicates(path: Path) -> None:
    section = "ungrouped"
    seen: set[tuple[str, str]] = set()
    with_vars: dict[str, int] = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens or tokens[0].startswith(";"):
            continue
        if tokens[0].startswith("["):
            section = tokens[0].strip("[]")
            continue
        if ":" in section:  # [group:vars] and [group:children] hold no host definitions
            continue
        alias = tokens[0]
        if (section, alias) in seen:
            raise InvalidRequest(
                f"inventory {path}:{number}: host {alias!r} listed twice in [{section}]"
            )
        seen.add((section, alias))
        if len(tokens) > 1:
            if alias in with_vars:
                raise InvalidRequest(
                    f"inventory {path}:{number}: host {alias!r} already defined with variables"
                    f" at line {with_vars[alias]}; the later line would silently override it"
                )
            with_vars[alias] = number


def _groups_of(data: dict[str, Any]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, body in data.items():
        if group == "_meta" or not isinstance(body, dict):
            continue
        for host in body.get("hosts", []):
            groups.setdefault(host, []).append(group)
    return groups


def check_vars(hostvars: dict[str, dict[str, Any]]) -> None:
    """Reject passwords and near-miss spellings of connection variables (`nsible_port`)."""
    for host, variables in hostvars.items():
        for key in variables:
            if key in _SECRET_VARS:
                raise InvalidRequest(
                    f"inventory host {host!r} sets {key}; use SSH keys or Ansible Vault instead"
                )
            if key in KNOWN_VARS:
                continue
            close = difflib.get_close_matches(key, KNOWN_VARS, n=1, cutoff=0.88)
            if close:
                raise InvalidRequest(
                    f"inventory host {host!r}: unknown variable {key!r}"
                    f" (did you mean {close[0]!r}?)"
                )


def check_limit(limit: str) -> None:
    """Refuse what Ansible would misread: `,` (empty patterns are dropped, so all hosts), a
    trailing newline, control characters, a bare `!`/`&`; the reason fits on one line."""
    if _CONTROL.search(limit):
        _bad_limit(limit, "it contains a control character or newline")
    if not _LIMIT.fullmatch(limit):
        _bad_limit(limit, "use letters, digits and _ . , : & ! * - [ ]")
    for part in limit.split(","):
        for pattern in _COLON_OUTSIDE_BRACKETS.split(part):
            if not pattern.lstrip("!&"):
                _bad_limit(limit, "it has an empty pattern (next to , or :, or after ! or &)")


def _bad_limit(limit: str, why: str) -> NoReturn:
    raise InvalidRequest(f"limit {limit!r} is not a valid host pattern: {why}")


def load(
    inventory: Path, ansible_cfg: Path | None = None, *, limit: str | None = None
) -> dict[str, Any]:
    """The inventory (or the `limit` part of it) as `ansible-inventory --list` gives it (groups
    and `_meta.hostvars`), after the checks every job gets: exists, a valid limit, no duplicate
    hosts, no passwords or misspellings."""
    if not inventory.exists():
        raise InvalidRequest(f"inventory {inventory} does not exist")
    if limit is not None:
        check_limit(limit)
    check_duplicates(inventory)
    data = _ansible_inventory(inventory, limit, ansible_cfg)
    check_vars(data.get("_meta", {}).get("hostvars", {}))
    return data


def host_vars(
    inventory: Path, limit: str | None = None, ansible_cfg: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Each host's variables after Ansible merged group_vars and host vars."""
    data = _ansible_inventory(inventory, limit, ansible_cfg)
    return data.get("_meta", {}).get("hostvars", {})


def extra_vars_allow(
    inventory: Path, hosts: list[str], ansible_cfg: Path | None = None
) -> frozenset[str]:
    """Reserved names extra vars may set on `hosts`: `edgefleet_extra_vars_allow` of the group
    `all` (the inventory file's author decides, never a request), narrowed by any group or
    host of the job that overrides it with a shorter list."""
    groups = _ansible_inventory(inventory, None, ansible_cfg, export=True)
    everyone = groups.get("all", {}).get("vars", {}).get(ALLOW_VAR)
    allowed = _allow_list(everyone, "for the group all")
    for host, variables in host_vars(inventory, ",".join(hosts), ansible_cfg).items():
        allowed &= _allow_list(variables.get(ALLOW_VAR), f"for host {host!r}")
    return allowed


def _allow_list(value: Any, where: str) -> frozenset[str]:
    """A list of exact names; anything else (a string, a template) is a mistake, not `[]`."""
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(
            f"inventory {ALLOW_VAR} {where} must be a list of variable names, not {value!r}"
        )
    return frozenset(value)


def _limit_hint(limit: str, data: dict[str, Any]) -> str:
    """A near miss of a group or host (`rpii` -> `rpi`) and the groups there are."""
    groups = sorted(g for g, body in data.items()
                    if g not in ("_meta", "all", "ungrouped") and isinstance(body, dict))
    hosts = sorted(_groups_of(data))
    words = [w.lstrip("!&") for w in re.split(r"[,:]", limit) if w.strip("!&")]
    hint = next((h for w in words if (h := did_you_mean(w, groups + hosts))), "")
    return f"{hint}; groups: {', '.join(groups) or '(none)'}"


def resolve_targets(
    inventory: Path, limit: str | None, ansible_cfg: Path | None = None
) -> list[Target]:
    """Hosts the job will touch; a limit that matches nothing is an error, not an empty run."""
    data = load(inventory, ansible_cfg, limit=limit)
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    membership = _groups_of(data)
    names = sorted(set(membership) | set(hostvars))
    if not names:
        if not limit:
            raise InvalidRequest(f"the inventory matches no host in {inventory}")
        raise InvalidRequest(f"limit {limit!r} matches no host in {inventory}"
                             + _limit_hint(limit, load(inventory, ansible_cfg)))
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
