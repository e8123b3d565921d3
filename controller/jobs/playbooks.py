"""The catalogue of playbooks the controller may run: only files shipped in `playbooks/`."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from controller.jobs.errors import InvalidRequest

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def available(playbook_dir: Path) -> list[str]:
    """Names of runnable playbooks (file stem of each top-level `*.yml`)."""
    return sorted(p.stem for p in playbook_dir.glob("*.yml") if _NAME.match(p.stem))


def resolve(playbook_dir: Path, name: str) -> Path:
    """Map a playbook name to its file, refusing anything outside the catalogue."""
    names = available(playbook_dir)
    if not isinstance(name, str) or name not in names:
        hint = did_you_mean(name, names) if isinstance(name, str) else ""
        raise InvalidRequest(f"unknown playbook {name!r}{hint}; available: {', '.join(names)}")
    return playbook_dir / f"{name}.yml"


def did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean 'ping'?)' for a near miss such as 'pnig', else ''."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
