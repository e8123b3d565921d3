"""List, verify and build: the operations CLI and API share, returning plain dicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from controller.registry_service import model_package
from registry import labels
from registry.build import Builder, BuildRequest
from registry.client import RegistryClient
from registry.errors import NotFound
from registry.platforms import from_oci, parse
from registry.reference import ModelRef
from registry.verify import Verifier, VerifyResult, is_platform_tag, version_key


def list_images(client: RegistryClient, repos: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per repo:tag (per-arch tags folded into their version) with platforms + labels."""
    rows = []
    for repo in repos or client.catalog():
        try:
            tags = [t for t in client.tags(repo) if not is_platform_tag(t)]
        except NotFound:
            continue  # deleted between catalog and tags
        for tag in sorted(tags, key=version_key):
            top = client.get_manifest(repo, tag)
            meta = dict(top.body.get("annotations") or {})
            if top.is_index:
                platforms = sorted(str(p) for m in top.body.get("manifests") or []
                                   if (p := from_oci(m.get("platform") or {})))
            else:
                config = client.get_json_blob(repo, top.body["config"]["digest"])
                platforms = [str(from_oci(config))]
                meta.update((config.get("config") or {}).get("Labels") or {})
            rows.append({
                "repo": repo, "tag": tag, "digest": top.digest, "platforms": platforms,
                "task": meta.get(labels.TASK), "model": meta.get(labels.MODEL),
                "version": meta.get(labels.VERSION), "accelerator": meta.get(labels.ACCELERATOR),
            })
    return rows


def verify(client: RegistryClient, arch: str, task: str, model: str | None = None,
           version: str | None = None) -> VerifyResult:
    return Verifier(client).verify(task, parse(arch), model, version)


def build(client: RegistryClient, *, arch: str, task: str, model: str, version: str,
          weights: Path | None, base: str, accelerator: str = "cpu", variant: str = "fp32",
          input_size: int | None = None,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Package a zoo model for the runtime base, push it, then verify it independently
    (must pass, else it's an error). Everything is checked before the first network call."""
    ModelRef(task, model, version)
    platform = parse(arch)
    pkg = model_package.package(task, model, version, weights, variant, input_size)
    req = BuildRequest(task=task, model=model, version=version, platform=platform,
                       weights=weights, base=base, accelerator=accelerator, files=pkg.files())
    req = replace(req, env=pkg.env(req.model_dir))
    result = Builder(client, progress).build(req)
    check = Verifier(client).verify(task, req.platform, model, version)
    if not check.found or check.found.manifest_digest != result.manifest_digest:
        raise NotFound(f"built {result.pinned} but verify does not find it: "
                       f"{check.misses[-1].detail if check.misses else 'unknown'}")
    return {**result.as_dict(), "verified": check.found.as_dict(), "model": pkg.manifest}
