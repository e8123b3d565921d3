"""Add an approved device to the controller's YAML inventory, keeping the operator's comments.

PyYAML drops comments on a load/dump round trip, so the host is inserted as text after the
last line of its group's `hosts:` block (found with yaml.compose's node marks), and the
result is parsed back and compared with the expected data. A layout this does not handle
(flow style, `rpi: ~`, ...) is rewritten whole by safe_dump instead, and that is logged.
The file is replaced atomically (temp file, fsync, rename) under an flock, so the API
server and the CLI never interleave their edits.

Hosts are matched exactly: addresses as IP addresses (`10.0.0.1` is not `10.0.0.12`), an
alias as the whole name. A device whose address is already in the inventory keeps the
alias it has there; an alias held by another address is a 409.
"""

from __future__ import annotations

import copy
import fcntl
import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.telemetry.errors import Conflict

log = logging.getLogger("edgefleet.discovery")

# OCI arch -> (inventory group, host vars that differ from that group's group_vars)
ARCH_GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "arm64": ("rpi", {}),
    "amd64": ("gpu", {}),
    "arm": ("rpi", {"edgefleet_arch": "arm"}),
}
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_ALIAS_BAD = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Placement:
    alias: str
    group: str
    added: bool  # False: the address was already there (under `alias`), nothing written


def sanitize_alias(hostname: str) -> str:
    """`Pi_Kitchen.local` -> `pi-kitchen`: the first DNS label, lower case, [a-z0-9-]."""
    label = _ALIAS_BAD.sub("-", hostname.split(".")[0].lower()).strip("-")[:63].strip("-")
    return label if label and label[0].isalpha() else f"host-{label}".rstrip("-")


def same_address(a: str, b: str) -> bool:
    """Exact: equal IP addresses, or (for names) equal strings; never a prefix."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def add_host(path: Path, alias: str, address: str, arch: str,
             hostvars: dict[str, str]) -> Placement:
    """Put `alias` (ansible_host=address, then hostvars) in the group for `arch`."""
    if path.suffix not in (".yml", ".yaml"):
        raise Conflict(f"inventory {path} is not a YAML file (.yml/.yaml): cannot add hosts")
    group, arch_vars = ARCH_GROUPS[arch]
    entry = {"ansible_host": address, **arch_vars, **hostvars}
    with _locked(path):
        text = path.read_text() if path.exists() else ""
        data = _load(path, text)
        known = _hosts(data)
        for name, addr in known.items():
            if same_address(addr, address):
                return Placement(name, group, added=False)
        if alias in known:
            raise Conflict(f"inventory host {alias!r} already exists with address "
                           f"{known[alias]}; approve with another alias")
        keys = [*(_group_path(data, group) or ["all", "children", group]), "hosts"]
        expected = _with_host(data, keys, alias, entry)
        new = _insert_as_text(text, keys, alias, entry)
        if new is None or _parsed(new) != expected:
            if "#" in text:
                log.warning("rewrote %s whole to add %s: its comments were not kept", path, alias)
            new = yaml.safe_dump(expected, sort_keys=False, default_flow_style=False)
        _write_atomic(path, new)
    log.info("inventory %s: added %s (%s) to group %s", path, alias, address, group)
    return Placement(alias, group, added=True)


# ---- reading ------------------------------------------------------------------------------
def _load(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise Conflict(f"inventory {path} is not valid YAML: {' '.join(str(exc).split())}") \
            from None
    if not isinstance(data, dict):
        raise Conflict(f"inventory {path} is not a YAML mapping of groups")
    return data


def _parsed(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _hosts(data: dict[str, Any]) -> dict[str, str]:
    """alias -> address (ansible_host, else the alias itself, as Ansible does)."""
    found: dict[str, str | None] = {}

    def walk(body: Any) -> None:
        if not isinstance(body, dict):
            return
        hosts = body.get("hosts")
        for name, variables in (hosts.items() if isinstance(hosts, dict) else ()):
            given = variables.get("ansible_host") if isinstance(variables, dict) else None
            if given is not None or str(name) not in found:
                found[str(name)] = None if given is None else str(given)
        children = body.get("children")
        for child in (children.values() if isinstance(children, dict) else ()):
            walk(child)

    for body in data.values():
        walk(body)
    return {name: addr or name for name, addr in found.items()}


def _group_path(data: dict[str, Any], group: str) -> list[str] | None:
    """Key path to the group's first definition (top level or nested under `children`)."""

    def search(body: Any, path: list[str]) -> list[str] | None:
        children = body.get("children") if isinstance(body, dict) else None
        for name, child in (children.items() if isinstance(children, dict) else ()):
            if name == group:
                return [*path, "children", name]
            if found := search(child, [*path, "children", name]):
                return found
        return None

    for name, body in data.items():
        if name == group:
            return [name]
        if found := search(body, [name]):
            return found
    return None


def _with_host(data: dict[str, Any], keys: list[str], alias: str,
               entry: dict[str, str]) -> dict[str, Any]:
    new = copy.deepcopy(data)
    node = new
    for key in keys:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
        if not isinstance(node, dict):
            raise Conflict(f"inventory: {'.'.join(keys)} is not a mapping; cannot add {alias}")
    node[alias] = entry
    return new


# ---- writing ------------------------------------------------------------------------------
def _scalar(value: str) -> str:
    """Plain when YAML reads it back as this very string, else JSON-quoted (valid YAML)."""
    return value if _PLAIN.match(value) and _parsed(value) == value else json.dumps(value)


def _child(node: MappingNode, key: str) -> tuple[Node, Node] | None:
    return next(((k, v) for k, v in node.value
                 if isinstance(k, ScalarNode) and k.value == key), None)


def _last_line(node: Node) -> int:
    """0-based index of the last line holding the node's content."""
    while isinstance(node, MappingNode | SequenceNode) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(node, MappingNode) else last
    end = node.end_mark
    return end.line if end.column > 0 else end.line - 1


def _step(node: Node) -> int:
    """The file's indentation step, from its first nested block mapping (default 2)."""
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(v, MappingNode) and v.value and not v.flow_style:
                return max(1, v.value[0][0].start_mark.column - k.start_mark.column)
    return 2


def _insert_as_text(text: str, keys: list[str], alias: str,
                    entry: dict[str, str]) -> str | None:
    """The file with the host's lines added; None where the layout is not plain block YAML."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if not isinstance(root, MappingNode) or root.flow_style or not root.value:
        return None
    step = _step(root)
    node: MappingNode = root
    missing: list[str] = []
    at_line, column = _last_line(root) + 1, root.value[0][0].start_mark.column
    for depth, key in enumerate(keys):
        found = _child(node, key)
        if found is None:
            missing = keys[depth:]
            break
        key_node, value = found
        at_line = _last_line(value) + 1
        if isinstance(value, ScalarNode) and value.tag.endswith(":null") and value.value == "":
            missing, column = keys[depth + 1:], key_node.start_mark.column + step
            break
        if not isinstance(value, MappingNode) or value.flow_style or not value.value:
            return None
        node, column = value, value.value[0][0].start_mark.column
    lines = []
    for key in missing:
        lines.append(" " * column + f"{_scalar(key)}:")
        column += step
    lines.append(" " * column + f"{_scalar(alias)}:")
    lines += [" " * (column + step) + f"{k}: {_scalar(v)}" for k, v in entry.items()]
    old = text.splitlines()
    return "\n".join(old[:at_line] + lines + old[at_line:]) + "\n"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
