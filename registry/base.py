"""Publish a runtime base image from a local rootfs directory, one platform at a time.

Nothing can be pulled from the internet here, so demo and tests make their per-arch bases
from a rootfs they have (e.g. a static busybox) and push them with the same client."""

from __future__ import annotations

from pathlib import Path

from registry.build import OCI_CONFIG, OCI_LAYER, split_ref
from registry.client import OCI_MANIFEST, RegistryClient
from registry.index import dump, update_index
from registry.layers import layer_from_dir
from registry.platforms import Platform
from registry.reference import platform_tag


def push_base(client: RegistryClient, ref: str, platform: Platform, rootfs: Path,
              cmd: list[str], env: list[str] | None = None) -> str:
    """Push `rootfs` as a one-layer image for `platform` and add it to the `ref` index."""
    repo, tag = split_ref(ref)
    layer = layer_from_dir(rootfs)
    client.push_blob(repo, layer.blob, layer.digest)
    config = {
        **platform.as_oci(),
        "config": {"Cmd": cmd, "Env": env or ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [{"created_by": f"edgefleet base from {rootfs.name}"}],
    }
    config_raw = dump(config)
    config_digest = client.push_blob(repo, config_raw)
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_raw)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": len(layer.blob)}],
    }
    raw = dump(manifest)
    digest = client.put_manifest(repo, platform_tag(tag, platform.slug), raw, OCI_MANIFEST)
    entry = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw),
             "platform": platform.as_oci()}
    # The base index carries no model labels: empty meta keeps only the platform entries.
    update_index(client, repo, tag, platform, entry, {})
    return digest
