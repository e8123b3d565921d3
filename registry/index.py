"""The version tag's index: read-modify-write that keeps other platforms, under a lock."""

from __future__ import annotations

import json
import threading
from typing import Any

from registry import labels
from registry.client import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, RegistryClient
from registry.errors import Conflict, NotFound
from registry.platforms import Platform, from_oci

_INDEX_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def dump(obj: dict) -> bytes:
    """Canonical JSON bytes, so identical content always gets the identical digest."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _lock_for(host: str, repo: str, tag: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _INDEX_LOCKS.setdefault((host, repo, tag), threading.Lock())


def update_index(client: RegistryClient, repo: str, tag: str, platform: Platform, entry: dict,
                 meta: dict[str, str]) -> str:
    """Read-modify-write of `repo:tag`: replace this platform's entry, keep the others.

    `meta` labels must agree with the existing index's annotations (else Conflict: a tag
    never silently changes what model it names)."""
    with _lock_for(client.host, repo, tag):
        try:
            current = client.get_manifest(repo, tag)
        except NotFound:  # repo or tag unknown: first platform of this version
            current = None
        kept: list[dict] = []
        if current is not None:
            if not current.is_index:
                raise Conflict(f"{repo}:{tag} is a single-platform image, "
                               "not an index; publish a new version instead")
            found = (current.body.get("annotations") or {})
            for key in (labels.TASK, labels.MODEL, labels.VERSION):
                if key in found and key in meta and found[key] != meta[key]:
                    raise Conflict(f"{repo}:{tag} has {key}={found[key]!r}, "
                                   f"not {meta[key]!r}; publish a new version instead")
            for old in current.body.get("manifests") or []:
                old_platform = from_oci(old.get("platform") or {})
                # Stale attestations and this platform's old entry go; others stay.
                if old_platform is not None and old_platform != platform:
                    kept.append(old)
        docker = entry["mediaType"] == DOCKER_MANIFEST and all(
            m.get("mediaType") == DOCKER_MANIFEST for m in kept)
        manifests = sorted([*kept, entry], key=lambda m: str(from_oci(m["platform"])))
        index: dict[str, Any] = {
            "schemaVersion": 2, "mediaType": DOCKER_LIST if docker else OCI_INDEX,
            "manifests": manifests,
        }
        if not docker and meta:
            index["annotations"] = meta
        raw = dump(index)
        digest = client.put_manifest(repo, tag, raw, index["mediaType"])
        after = client.head_manifest(repo, tag)
        if after != digest:
            raise Conflict(f"{repo}:{tag} changed while we wrote it "
                           f"(now {after}); re-run the build")
        return digest
