"""Is there an image for (task, platform[, model, version])? Exact matches only.

Follows the reference algorithm: manifest with the full Accept list, first non-attestation
index entry for the normalised platform, then the chosen image's *config blob* must agree on
platform and its labels on task/model (the index entry and repo name are only claims)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from registry import labels
from registry.client import Manifest, RegistryClient
from registry.errors import InvalidResponse, ManifestUnknown, NameUnknown, NotFound
from registry.platforms import Platform, from_oci
from registry.reference import ModelRef, check_name, check_tag

# Reasons a candidate did not match; all but "found" lead to a build plan or an alert.
FOUND = "found"
REPO_MISSING, TAG_MISSING, PLATFORM_MISSING = "repo_missing", "tag_missing", "platform_missing"
ARCH_MISMATCH, LABEL_MISMATCH = "arch_mismatch", "label_mismatch"
BUILDABLE = (REPO_MISSING, TAG_MISSING, PLATFORM_MISSING)


@dataclass
class Resolution:
    """A verified image: pull it by `pinned` (platform manifest digest), never by tag."""

    repo: str
    tag: str
    platform: str
    manifest_digest: str
    config_digest: str
    index_digest: str | None
    labels: dict[str, str]
    pinned: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Miss:
    """Why one candidate (repo:tag) does not serve the platform/task asked for."""

    repo: str
    tag: str | None
    reason: str
    detail: str
    available_platforms: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    task: str
    platform: str
    model: str | None
    found: Resolution | None
    misses: list[Miss]

    @property
    def plan(self) -> dict[str, Any] | None:
        """What `registry build` would do; None when found or when a build would be wrong."""
        if self.found:
            return None
        buildable = [m for m in self.misses if m.reason in BUILDABLE]
        target = buildable[0] if buildable else None
        return {
            "action": "build" if target and self.model else "choose-model",
            "repo": target.repo if target else None,
            "tag": target.tag if target else None,
            "platform": self.platform,
            "task": self.task,
            "model": self.model,
            "reasons": [asdict(m) for m in self.misses],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "platform": self.platform, "model": self.model,
            "found": self.found.as_dict() if self.found else None, "plan": self.plan,
        }


def version_key(tag: str) -> tuple:
    """Natural order (`1.10` after `1.9`), so "latest version" means the highest one."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-_+]", tag))


def is_platform_tag(tag: str) -> bool:
    return bool(re.search(r"-(linux|windows)-[a-z0-9]+(-v[0-9]+)?$", tag))


def select_entry(index: Manifest, platform: Platform) -> tuple[dict | None, list[str]]:
    """First non-attestation entry for the platform, plus every real platform on offer."""
    chosen, offered = None, []
    for entry in index.body.get("manifests") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("platform"), dict):
            continue
        annotations = entry.get("annotations") or {}
        if annotations.get(labels.DOCKER_REFERENCE_TYPE) == "attestation-manifest":
            continue
        entry_platform = from_oci(entry["platform"])
        if entry_platform is None:
            continue
        offered.append(str(entry_platform))
        if chosen is None and entry_platform == platform:
            chosen = entry
    return chosen, offered


def _config_labels(config: dict) -> dict[str, str]:
    inner = config.get("config") or {}
    found = inner.get("Labels") if isinstance(inner, dict) else None
    return {str(k): str(v) for k, v in (found or {}).items()}


class Verifier:
    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def check(self, repo: str, tag: str, platform: Platform, expect: dict[str, str]) -> (
        Resolution | Miss
    ):
        """Verify one repo:tag for the platform; `expect` are labels that must equal exactly."""
        try:
            top = self.client.get_manifest(repo, tag)
        except NameUnknown:
            return Miss(repo, tag, REPO_MISSING, f"repository {repo} does not exist")
        except ManifestUnknown:
            return Miss(repo, tag, TAG_MISSING, f"{repo}:{tag} does not exist")
        except NotFound as exc:  # some registries answer a bare 404
            return Miss(repo, tag, TAG_MISSING, str(exc))
        image, index_digest = top, None
        if top.is_index:
            entry, offered = select_entry(top, platform)
            if entry is None:
                return Miss(repo, tag, PLATFORM_MISSING,
                            f"{repo}:{tag} has no {platform} image", offered)
            index_digest = top.digest
            image = self.client.get_manifest(repo, str(entry.get("digest", "")))
            if image.is_index:
                raise InvalidResponse(f"{repo}@{image.digest}: nested index is not supported")
        config_desc = image.body.get("config") or {}
        config = self.client.get_json_blob(repo, str(config_desc.get("digest", "")))
        actual = from_oci(config)
        if actual != platform:
            return Miss(repo, tag, ARCH_MISMATCH,
                        f"{repo}:{tag} config says {actual}, wanted {platform}",
                        [str(actual)] if actual else [])
        found = _config_labels(config)
        annotations = image.body.get("annotations") or {}
        for key, want in expect.items():
            have = found.get(key, annotations.get(key))
            if have != want:
                return Miss(repo, tag, LABEL_MISMATCH,
                            f"{repo}:{tag} {key}={have!r}, wanted {want!r}")
        return Resolution(
            repo=repo, tag=tag, platform=str(platform), manifest_digest=image.digest,
            config_digest=str(config_desc.get("digest")), index_digest=index_digest,
            labels=found, pinned=f"{self.client.host}/{repo}@{image.digest}",
        )

    def candidates(self, task: str, model: str | None) -> list[str]:
        """Repos to try: the one named, or every `models/<task>/*` in the catalog (exact task)."""
        if model:
            return [ModelRef(task, model, "0").repo]
        repos = []
        for repo in self.client.catalog():
            parsed = ModelRef.parse_repo(repo)
            if parsed and parsed[0] == task:
                repos.append(repo)
        return repos

    def verify(self, task: str, platform: Platform, model: str | None = None,
               version: str | None = None) -> VerifyResult:
        check_name("task", task)
        if model:
            check_name("model", model)
        if version:
            check_tag(version)
        result = VerifyResult(task, str(platform), model, None, [])
        repos = self.candidates(task, model)
        if not repos:
            result.misses.append(Miss(f"models/{task}/*", version, REPO_MISSING,
                                      f"no model repository for task {task!r}"))
        for repo in repos:
            if version:
                tags = [version]
            else:
                try:
                    tags = [t for t in self.client.tags(repo) if not is_platform_tag(t)]
                except NameUnknown:
                    result.misses.append(Miss(repo, None, REPO_MISSING, f"{repo} does not exist"))
                    continue
                tags.sort(key=version_key, reverse=True)
                if not tags:
                    result.misses.append(Miss(repo, None, TAG_MISSING, f"{repo} has no tags"))
            parsed = ModelRef.parse_repo(repo)
            expect = {labels.TASK: task, labels.MODEL: parsed[1] if parsed else ""}
            for tag in tags:
                outcome = self.check(repo, tag, platform, {**expect, labels.VERSION: tag})
                if isinstance(outcome, Resolution):
                    result.found = outcome
                    return result
                result.misses.append(outcome)
        return result

    def verify_many(self, queries: Iterable[tuple[str, Platform, str | None, str | None]],
                    workers: int = 8) -> list[VerifyResult]:
        """Many (task, platform, model, version) checks over one connection pool, in order.

        Each check is a chain of round trips; running chains side by side hides the latency
        (httpx.Client is thread-safe)."""
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda q: self.verify(*q), queries))
