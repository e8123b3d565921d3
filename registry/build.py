"""Daemonless model-image builder: one deterministic model layer on a per-arch base image.

No engine and no emulation: the weights don't depend on the CPU, only the runtime base does,
and that base is already in the registry for each platform. Push order is blobs, config,
per-arch manifest (per-arch tag), then a read-modify-write of the version's index; the
registry rejects an index whose children are missing, so a partial push never leaves a tag
pointing at a broken image."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from registry import labels
from registry.client import DOCKER_MANIFEST, OCI_MANIFEST, Manifest, RegistryClient
from registry.errors import InvalidReference, NotFound, RegistryError
from registry.index import dump, update_index
from registry.layers import Layer, build_layer
from registry.platforms import Platform, from_oci
from registry.reference import ModelRef, check_repo, check_tag, platform_tag
from registry.verify import select_entry

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
# The model layer of an OCI image is an uncompressed tar: weights barely compress and gzip
# would dominate the build time. Docker schema 2 only knows gzip layers.
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MODELS_DIR = "/models"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildRequest:
    task: str
    model: str
    version: str
    platform: Platform
    weights: Path | None  # None: the image runs its architecture with seeded random weights
    base: str  # repo:tag of the multi-arch runtime base image in the same registry
    accelerator: str = "cpu"
    # More files of the model directory (e.g. the runtime's model.json) and config env.
    files: Mapping[str, bytes] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def model_dir(self) -> str:
        return f"{MODELS_DIR}/{self.model}/{self.version}"

    @property
    def ref(self) -> ModelRef:
        return ModelRef(self.task, self.model, self.version)


@dataclass(frozen=True)
class BuildResult:
    repo: str
    tag: str
    platform_tag: str
    platform: str
    manifest_digest: str
    index_digest: str
    config_digest: str
    layer_digest: str
    mounted_layers: int
    pinned: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_ref(ref: str) -> tuple[str, str]:
    repo, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        raise InvalidReference(f"base image {ref!r} must be REPO:TAG")
    return check_repo(repo), check_tag(tag)


class Builder:
    """Builds and pushes through one RegistryClient; `progress` gets one line per step."""

    def __init__(self, client: RegistryClient, progress: Progress | None = None) -> None:
        self.client = client
        self.progress = progress or (lambda _msg: None)

    def resolve_base(self, base: str, platform: Platform) -> tuple[str, Manifest, dict]:
        """The base's platform manifest and config; its config must really be that platform."""
        repo, tag = split_ref(base)
        try:
            top = self.client.get_manifest(repo, tag)
        except NotFound as exc:
            raise NotFound(f"base image {base} not in registry: {exc}") from None
        image = top
        if top.is_index:
            entry, offered = select_entry(top, platform)
            if entry is None:
                raise NotFound(f"base image {base} has no {platform} image "
                               f"(has: {', '.join(offered) or 'none'})")
            image = self.client.get_manifest(repo, entry["digest"])
        config = self.client.get_json_blob(repo, image.body["config"]["digest"])
        if from_oci(config) != platform:
            raise RegistryError(f"base image {base} config is {from_oci(config)}, not {platform}")
        return repo, image, config

    def build(self, req: BuildRequest) -> BuildResult:
        ref = req.ref
        if req.weights is not None and not req.weights.is_file():
            raise InvalidReference(f"weights file {req.weights} not found")
        base_repo, base, base_config = self.resolve_base(req.base, req.platform)
        docker = base.media_type == DOCKER_MANIFEST
        self.progress(f"base {req.base} for {req.platform}: {base.digest[:19]}")

        mounted = 0
        for desc in base.body.get("layers") or []:
            if not self.client.blob_exists(ref.repo, desc["digest"]):
                if not self.client.mount_blob(ref.repo, desc["digest"], base_repo):
                    raise RegistryError(f"could not mount base layer {desc['digest']} "
                                        f"from {base_repo} into {ref.repo}")
                mounted += 1
        self.progress(f"base layers in {ref.repo} ({mounted} mounted)")

        files: dict[str, bytes | Path] = {f"{req.model_dir}/{name}": data
                                          for name, data in req.files.items()}
        if req.weights is not None:
            data = req.weights.read_bytes()
            weights_sha = hashlib.sha256(data).hexdigest()
            model_path = f"{req.model_dir}/{req.weights.name}"
            files[model_path] = data
        else:
            weights_sha, model_path = "random", req.model_dir
        layer = build_layer(files, compress=docker)
        self.client.push_blob(ref.repo, layer.blob, layer.digest)
        self.progress(f"model layer {layer.digest[:19]} pushed ({len(layer.blob)} bytes)")

        meta = labels.model_labels(req.task, req.model, req.version, req.accelerator, weights_sha)
        config = self._config(base_config, layer, meta, model_path, req.env)
        config_raw = dump(config)
        config_digest = self.client.push_blob(ref.repo, config_raw)

        annotations = {**meta, labels.OCI_BASE_NAME: f"{self.client.host}/{req.base}",
                       labels.OCI_BASE_DIGEST: base.digest}
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
                       "digest": config_digest, "size": len(config_raw)},
            "layers": [*copy.deepcopy(base.body.get("layers") or []),
                       {"mediaType": DOCKER_LAYER if docker else OCI_LAYER_TAR,
                        "digest": layer.digest, "size": len(layer.blob)}],
        }
        if not docker:  # Docker schema 2 has no annotations field
            manifest["annotations"] = annotations
        manifest_raw = dump(manifest)
        arch_tag = platform_tag(req.version, req.platform.slug)
        manifest_digest = self.client.put_manifest(ref.repo, arch_tag, manifest_raw,
                                                   manifest["mediaType"])
        self.progress(f"{ref.repo}:{arch_tag} -> {manifest_digest[:19]}")

        entry = {"mediaType": manifest["mediaType"], "digest": manifest_digest,
                 "size": len(manifest_raw), "platform": req.platform.as_oci()}
        if not docker:
            entry["annotations"] = meta
        index_digest = update_index(self.client, ref.repo, ref.version, req.platform, entry, meta)
        self.progress(f"{ref.repo}:{req.version} index -> {index_digest[:19]}")
        return BuildResult(
            repo=ref.repo, tag=req.version, platform_tag=arch_tag, platform=str(req.platform),
            manifest_digest=manifest_digest, index_digest=index_digest,
            config_digest=config_digest, layer_digest=layer.digest, mounted_layers=mounted,
            pinned=f"{self.client.host}/{ref.repo}@{manifest_digest}",
        )

    @staticmethod
    def _config(base: dict, layer: Layer, meta: dict[str, str], model_path: str,
                extra_env: Mapping[str, str]) -> dict:
        """Base config + our diff_id, history entry, labels and MODEL_* env; platform kept."""
        config = copy.deepcopy(base)
        config.pop("created", None)  # deterministic: no build timestamp
        inner = config.setdefault("config", {})
        inner["Labels"] = {**(inner.get("Labels") or {}), **meta}
        ours = {"MODEL_PATH": model_path, "MODEL_NAME": meta[labels.MODEL],
                "MODEL_TASK": meta[labels.TASK], "MODEL_VERSION": meta[labels.VERSION],
                **extra_env}
        env = [e for e in inner.get("Env") or [] if e.split("=", 1)[0] not in ours
               and not e.startswith("MODEL_")]
        inner["Env"] = [*env, *(f"{k}={v}" for k, v in ours.items())]
        rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), layer.diff_id]
        config["history"] = [*config.get("history", []),
                             {"created_by": f"edgefleet registry build: add {model_path}"}]
        return config
