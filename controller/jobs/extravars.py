"""Validation of extra vars: plain JSON data with variable-name keys and no secrets.

Extra vars come from whoever holds an operator token (API, CLI, dashboard) and Ansible gives
them the highest precedence, so they must stay data: no template syntax anywhere (Ansible
would evaluate `{{ lookup('pipe', ...) }}` on the controller), and no variable that steers
how or where Ansible connects (`ansible_connection`, `ansible_ssh_common_args`, ...,
`inventory_hostname`) unless the job's inventory allows that name.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from controller.jobs.errors import InvalidRequest

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# Secrets in extra vars end up in runner's env/extravars file and in job records.
_SECRET_HINTS = ("pass", "secret", "token", "private_key")
_MAX_BYTES = 64 * 1024
_MAX_DEPTH = 32
_ROOT = "extra_vars"
# Jinja's block, variable and comment openers: any of them makes Ansible template the string.
_TEMPLATE = re.compile(r"\{[{%#]")
# Ansible's own variables a request must not set: every `ansible_*` one (connection, user,
# port, ssh_*, *_executable, become*, *_interpreter, shell_*, ...) and the special host
# variables below it (the ssh plugin falls back to `inventory_hostname` as the address).
_RESERVED_PREFIX = "ansible_"
_RESERVED = frozenset({
    "inventory_hostname", "inventory_hostname_short", "inventory_dir", "inventory_file",
    "group_names", "groups", "hostvars", "omit", "playbook_dir", "play_hosts",
    "role_names", "environment", "vars",
})
ALLOW_VAR = "edgefleet_extra_vars_allow"


def parse(text: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line (or `@file` already read)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"extra vars are not valid JSON: {exc.msg} at char {exc.pos}"
        ) from None
    except RecursionError:
        raise InvalidRequest(f"extra vars nest deeper than {_MAX_DEPTH} levels") from None
    return validate(value)


def parse_cli(values: list[str], read: Callable[[Path], str] = Path.read_text) -> dict[str, Any]:
    """`-e` as Ansible takes it, repeatable, later values winning per top-level key: a JSON
    object, `@file` (JSON or YAML), or `key=value` words (values stay strings, as in Ansible)."""
    merged: dict[str, Any] = {}
    for raw in values:
        merged.update(_one_cli_value(raw, read))
    return validate(merged)


def _one_cli_value(raw: str, read: Callable[[Path], str]) -> dict[str, Any]:
    text = raw.strip()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            loaded = yaml.safe_load(read(path))
        except OSError as exc:
            raise InvalidRequest(f"cannot read extra vars file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise InvalidRequest(f"extra vars file {path} is not JSON or YAML: "
                                 f"{str(exc).splitlines()[0]}") from None
        if not isinstance(loaded, dict):
            raise InvalidRequest(f"extra vars file {path} must hold a mapping of names to values")
        return loaded
    if text.startswith("{"):
        return parse(text)
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidRequest(f"extra vars {raw!r}: {exc}") from None
    pairs = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"extra vars {word!r}: give key=value, a JSON object or @file")
        pairs[key] = value
    return pairs


def validate(value: Any) -> dict[str, Any]:
    """Return the extra vars unchanged if they are plain data that is safe to hand to Ansible.

    Reserved names (`ansible_*`, ...) pass here: only the job's inventory can allow them, so
    `check_reserved` refuses them once the inventory is known.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("extra vars must be a JSON object of variable names to values")
    nodes = list(_walk(value))  # depth first: a deep value would overflow json.dumps
    for path, item, is_key in nodes:
        if not is_key and not isinstance(item, str | int | float | bool | None):
            # A YAML file can hold dates and sets: refuse them by name, not with a TypeError.
            raise InvalidRequest(f"{path} is a {type(item).__name__}, not JSON data")
    if len(json.dumps(value)) > _MAX_BYTES:
        raise InvalidRequest(f"extra vars exceed {_MAX_BYTES // 1024} KiB")
    for key in value:
        if not isinstance(key, str) or not _VAR_NAME.match(key):
            raise InvalidRequest(f"extra var name {key!r} is not a valid Ansible variable name")
    for path, item, is_key in nodes:
        _check_node(path, item, is_key)
    return value


def _walk(value: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(path, item, is_key) for every key and value at any depth, dicts inside lists too.

    Iterative, so a deeply nested request is refused with a reason, not a RecursionError.
    """
    stack: list[tuple[str, Any, int]] = [(_ROOT, value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise InvalidRequest(f"extra vars nest deeper than {_MAX_DEPTH} levels at {path}")
        children: list[tuple[str, Any, int]] = []
        if isinstance(item, dict):
            for key, sub in item.items():
                child = _child(path, key)
                yield child, key, True
                children.append((child, sub, depth + 1))
        elif isinstance(item, list | tuple):
            children = [(f"{path}[{i}]", sub, depth + 1) for i, sub in enumerate(item)]
        else:
            yield path, item, False
        stack.extend(reversed(children))  # keep document order: the first problem is named


def _child(path: str, key: Any) -> str:
    """`extra_vars.cfg.items`, or `extra_vars.cfg["odd key"]` (always one line)."""
    if isinstance(key, str) and _VAR_NAME.match(key):
        return f"{path}.{key}"
    shown = json.dumps(key) if isinstance(key, str) else repr(key)
    return f"{path}[{shown}]"


def _check_node(path: str, item: Any, is_key: bool) -> None:
    """Template syntax anywhere, and secret-looking names at any depth, are refused."""
    if isinstance(item, str) and _TEMPLATE.search(item):
        what = "key" if is_key else "value"
        raise InvalidRequest(
            f"{path}: template syntax ('{{{{', '{{%' or '{{#') is not allowed in an extra var"
            f" {what}; extra vars are data, never templated"
        )
    if is_key and isinstance(item, str) and any(h in item.lower() for h in _SECRET_HINTS):
        raise InvalidRequest(
            f"extra var {path} looks like a secret; use SSH keys or Ansible Vault instead"
        )


def reserved(variables: dict[str, Any]) -> list[str]:
    """Top-level names that steer Ansible itself (connection, privilege, interpreter, host)."""
    return [
        key for key in variables
        if key.lower().startswith(_RESERVED_PREFIX) or key in _RESERVED
    ]


def check_reserved(
    variables: dict[str, Any], allowed: Callable[[], Collection[str]]
) -> None:
    """Refuse reserved names unless the inventory's allow-list (`allowed()`) names them.

    `allowed` is only called when there is a reserved name: reading it parses the inventory.
    """
    names = reserved(variables)
    if not names:
        return
    permitted = allowed()
    for name in names:
        if name not in permitted:
            raise InvalidRequest(
                f"{_child(_ROOT, name)}: Ansible's own variables (ansible_*, inventory_hostname,"
                f" ...) cannot be set through extra vars; the inventory may allow one by listing"
                f" it in {ALLOW_VAR} for the group all"
            )
