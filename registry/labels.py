"""The project's own label keys (never invented under org.opencontainers.*)."""

from __future__ import annotations

NS = "io.edgefleet"
TASK = f"{NS}.task"
MODEL = f"{NS}.model"
VERSION = f"{NS}.version"
ACCELERATOR = f"{NS}.accelerator"
MODEL_SHA256 = f"{NS}.model.sha256"
# Predefined OCI annotation keys we may set (image-spec annotations.md).
OCI_BASE_NAME = "org.opencontainers.image.base.name"
OCI_BASE_DIGEST = "org.opencontainers.image.base.digest"
# buildx marks attestation manifests in an index with this annotation.
DOCKER_REFERENCE_TYPE = "vnd.docker.reference.type"


def model_labels(task: str, model: str, version: str, accelerator: str, sha256: str) -> dict:
    return {TASK: task, MODEL: model, VERSION: version, ACCELERATOR: accelerator,
            MODEL_SHA256: sha256}
