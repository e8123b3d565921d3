"""Validation of extra vars: plain JSON data with variable-name keys and no secrets."""

from __future__ import annotations

import json
import re
from typing import Any

from controller.jobs.errors import InvalidRequest

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Secrets in extra vars end up in runner's env/extravars file and in job records.
_SECRET_HINTS = ("pass", "secret", "token", "private_key")
_MAX_BYTES = 64 * 1024


def parse(text: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line (or `@file` already read)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"extra vars are not valid JSON: {exc.msg} at char {exc.pos}"
        ) from None
    return validate(value)


def validate(value: Any) -> dict[str, Any]:
    """Return the extra vars unchanged if they are safe to hand to Ansible."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("extra vars must be a JSON object of variable names to values")
    if len(json.dumps(value)) > _MAX_BYTES:
        raise InvalidRequest(f"extra vars exceed {_MAX_BYTES // 1024} KiB")
    for key in value:
        if not isinstance(key, str) or not _VAR_NAME.match(key):
            raise InvalidRequest(f"extra var name {key!r} is not a valid Ansible variable name")
        if any(hint in key.lower() for hint in _SECRET_HINTS):
            raise InvalidRequest(
                f"extra var {key!r} looks like a secret; use SSH keys or Ansible Vault instead"
            )
    return value
