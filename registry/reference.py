"""Repository, tag and digest validation, and the `models/<task>/<model>:<version>` layout.

Validated locally because an invalid name gets a plain-text 404 from distribution 2.8."""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import InvalidReference

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPO_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
# A task or model name is one repository path component (so it can't smuggle a '/').
NAME_RE = re.compile(_COMPONENT)
MODELS_PREFIX = "models"


def check_repo(name: str) -> str:
    if not REPO_RE.fullmatch(name) or len(name) > 255:
        raise InvalidReference(f"invalid repository name {name!r}")
    return name


def check_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag):
        raise InvalidReference(f"invalid tag {tag!r}")
    return tag


def check_digest(digest: str) -> str:
    if not DIGEST_RE.fullmatch(digest):
        raise InvalidReference(f"invalid digest {digest!r} (expected sha256:<64 hex>)")
    return digest


def check_name(kind: str, value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise InvalidReference(
            f"invalid {kind} {value!r}: lower-case letters, digits and . _ - separators only"
        )
    return value


@dataclass(frozen=True)
class ModelRef:
    """Where a model lives: `models/<task>/<model>:<version>`."""

    task: str
    model: str
    version: str

    def __post_init__(self) -> None:
        check_name("task", self.task)
        check_name("model", self.model)
        check_tag(self.version)

    @property
    def repo(self) -> str:
        return f"{MODELS_PREFIX}/{self.task}/{self.model}"

    @classmethod
    def parse_repo(cls, repo: str) -> tuple[str, str] | None:
        """(task, model) when the repo follows our layout, else None (exact split, no search)."""
        parts = repo.split("/")
        if len(parts) == 3 and parts[0] == MODELS_PREFIX:
            return parts[1], parts[2]
        return None


def platform_tag(version: str, platform_slug: str) -> str:
    """The per-arch tag, e.g. `1.0-linux-arm64`: lets a single platform be pulled or GC-kept."""
    return check_tag(f"{version}-{platform_slug}")
