"""Build, push and verify against a real distribution 2.8 registry; skopeo checks the result."""

from __future__ import annotations

import httpx
import pytest

from registry import errors, labels
from registry.build import Builder, BuildRequest
from registry.client import OCI_INDEX, OCI_MANIFEST, RegistryClient
from registry.index import dump
from registry.platforms import parse
from registry.verify import (
    ARCH_MISMATCH,
    LABEL_MISMATCH,
    PLATFORM_MISSING,
    REPO_MISSING,
    TAG_MISSING,
    Verifier,
)
from tests.registry import oracle
from tests.registry.images import BASE_REF

ARM64, AMD64 = parse("aarch64"), parse("x86_64")


def request(weights, platform, task="image-classification", model="tiny", version="1.0"):
    return BuildRequest(task=task, model=model, version=version, platform=platform,
                        weights=weights, base=BASE_REF)


def test_missing_then_build_arm64_then_amd64_keeps_both(with_bases, weights):
    url = with_bases.url
    with RegistryClient(url) as client:
        verifier = Verifier(client)
        first = verifier.verify("image-classification", ARM64, "tiny")
        assert first.found is None
        assert first.misses[0].reason == REPO_MISSING  # tags/list: NAME_UNKNOWN
        # 2.8 answers a manifest GET in an unknown repo with MANIFEST_UNKNOWN, not NAME_UNKNOWN.
        assert verifier.verify("image-classification", ARM64, "tiny", "1.0").misses[0].reason == (
            TAG_MISSING)
        assert first.plan["action"] == "build"
        assert first.plan["repo"] == "models/image-classification/tiny"

        arm = Builder(client).build(request(weights, ARM64))
        assert arm.mounted_layers == 1
        found = verifier.verify("image-classification", parse("arm64/v8"), "tiny", "1.0").found
        assert found is not None
        assert found.manifest_digest == arm.manifest_digest
        assert found.pinned == (
            f"{client.host}/models/image-classification/tiny@{arm.manifest_digest}")
        assert found.labels[labels.TASK] == "image-classification"

        amd_miss = verifier.verify("image-classification", AMD64, "tiny", "1.0")
        assert amd_miss.found is None and amd_miss.misses[0].reason == PLATFORM_MISSING
        assert amd_miss.misses[0].available_platforms == ["linux/arm64"]

        amd = Builder(client).build(request(weights, AMD64))
        assert verifier.verify("image-classification", AMD64, "tiny").found.manifest_digest == (
            amd.manifest_digest)
        # The arm64 entry survived the amd64 read-modify-write of the index.
        assert verifier.verify("image-classification", ARM64, "tiny").found.manifest_digest == (
            arm.manifest_digest)

    repo = f"{with_bases.netloc}/models/image-classification/tiny"
    index = oracle.raw(f"{repo}:1.0")
    assert index["mediaType"] == OCI_INDEX
    assert sorted((m["platform"]["architecture"], m["digest"]) for m in index["manifests"]) == (
        sorted([("arm64", arm.manifest_digest), ("amd64", amd.manifest_digest)]))
    assert index["annotations"][labels.MODEL] == "tiny"
    arm_config = oracle.config(f"{repo}:1.0", "arm64")
    assert arm_config["architecture"] == "arm64"
    assert arm_config["config"]["Labels"][labels.TASK] == "image-classification"
    assert arm_config["config"]["Labels"][labels.VERSION] == "1.0"
    assert "MODEL_PATH=/models/tiny/1.0/weights.txt" in arm_config["config"]["Env"]
    assert len(arm_config["rootfs"]["diff_ids"]) == 2
    assert oracle.digest(f"{repo}:1.0", "arm64") == amd.index_digest  # the index's own digest
    assert oracle.digest(f"{repo}:1.0-linux-arm64", "arm64") == arm.manifest_digest
    manifest = oracle.raw(f"{repo}:1.0-linux-arm64")
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["annotations"][labels.OCI_BASE_NAME].endswith(BASE_REF)
    # Only predefined org.opencontainers.* keys are used.
    assert {k for k in manifest["annotations"] if k.startswith("org.opencontainers.")} <= {
        labels.OCI_BASE_NAME, labels.OCI_BASE_DIGEST}


def test_rebuild_is_deterministic(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        first = Builder(client).build(request(weights, ARM64, model="again"))
        second = Builder(client).build(request(weights, ARM64, model="again"))
    assert (first.manifest_digest, first.index_digest, first.layer_digest) == (
        second.manifest_digest, second.index_digest, second.layer_digest)


def test_task_and_model_match_exactly_never_by_substring(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        Builder(client).build(request(weights, ARM64, task="cars", model="det"))
        verifier = Verifier(client)
        assert verifier.verify("cars", ARM64).found is not None
        car = verifier.verify("car", ARM64)
        assert car.found is None and car.plan["action"] == "choose-model"
        assert verifier.verify("cars", ARM64, "de").found is None
        assert verifier.verify("cars", ARM64, "det", "1").found is None


def _copy_image(client, src_repo, src_tag, dest_repo, dest_tag):
    """Same manifest bytes under another repo (blobs mounted): repo name and labels disagree."""
    top = client.get_manifest(src_repo, src_tag)
    for child in [top, *[client.get_manifest(src_repo, m["digest"])
                         for m in top.body.get("manifests", [])]]:
        for desc in [child.body.get("config"), *child.body.get("layers", [])]:
            if desc:
                client.mount_blob(dest_repo, desc["digest"], src_repo)
        if not child.is_index:
            client.put_manifest(dest_repo, child.digest, child.raw, child.media_type)
    client.put_manifest(dest_repo, dest_tag, top.raw, top.media_type)


def test_labels_of_the_platform_image_are_trusted_not_the_repo_name(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        Builder(client).build(request(weights, ARM64, task="cars", model="lbl"))
        _copy_image(client, "models/cars/lbl", "1.0", "models/car/lbl", "1.0")
        result = Verifier(client).verify("car", ARM64, "lbl", "1.0")
    assert result.found is None
    assert result.misses[0].reason == LABEL_MISMATCH
    assert "'cars'" in result.misses[0].detail


def test_index_claiming_arm64_for_an_amd64_config_is_arch_mismatch(with_bases):
    with RegistryClient(with_bases.url) as client:
        base = client.get_manifest("runtime/busybox", "1-linux-amd64")
        repo = "models/liar/net"
        for desc in [base.body["config"], *base.body["layers"]]:
            assert client.mount_blob(repo, desc["digest"], "runtime/busybox")
        client.put_manifest(repo, base.digest, base.raw, base.media_type)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1,
             "platform": {"architecture": "unknown", "os": "unknown"}},
            {"mediaType": OCI_MANIFEST, "digest": base.digest, "size": len(base.raw),
             "platform": {"architecture": "arm64", "os": "linux"}}]}
        with pytest.raises(errors.BlobUnknown):  # the attestation's child doesn't exist
            client.put_manifest(repo, "1.0", dump(index), OCI_INDEX)
        index["manifests"][0]["digest"] = base.digest  # an attestation-like entry, skipped
        client.put_manifest(repo, "1.0", dump(index), OCI_INDEX)
        result = Verifier(client).verify("liar", ARM64, "net", "1.0")
    assert result.found is None
    assert result.misses[0].reason == ARCH_MISMATCH
    assert result.plan["action"] == "choose-model" or result.plan["repo"] is None


def test_a_failed_index_push_leaves_no_tag(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        from registry.index import update_index

        entry = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "1" * 64, "size": 10,
                 "platform": ARM64.as_oci()}
        with pytest.raises(errors.BlobUnknown):
            update_index(client, "models/partial/net", "1.0", ARM64, entry, {})
        result = Verifier(client).verify("partial", ARM64, "net", "1.0")
    assert result.misses[0].reason in (REPO_MISSING, TAG_MISSING)


def test_conflicting_labels_on_an_existing_tag_refuse_to_overwrite(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        Builder(client).build(request(weights, ARM64, task="cars", model="cf"))
        _copy_image(client, "models/cars/cf", "1.0", "models/car/cf", "1.0")
        with pytest.raises(errors.Conflict, match="publish a new version"):
            Builder(client).build(request(weights, AMD64, task="car", model="cf"))


def test_catalog_follows_link_pagination_past_maxentries(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        for i in range(7):
            Builder(client).build(request(weights, ARM64, task="paging", model=f"m{i}"))
        repos = client.catalog()
        assert [r for r in repos if r.startswith("models/paging/")] == [
            f"models/paging/m{i}" for i in range(7)]
    first_page = httpx.get(f"{with_bases.url}/v2/_catalog")
    assert len(first_page.json()["repositories"]) == 5  # catalog.maxentries
    assert 'rel="next"' in first_page.headers["Link"]


def test_missing_base_platform_and_missing_weights_are_clear_errors(with_bases, weights, tmp_path):
    with RegistryClient(with_bases.url) as client:
        with pytest.raises(errors.NotFound, match="no linux/arm/v7 image"):  # noqa: SIM117
            Builder(client).build(request(weights, parse("armv7l")))
        with pytest.raises(errors.InvalidReference, match="not found"):
            Builder(client).build(request(tmp_path / "nope.bin", ARM64))


def test_registry_down_is_unavailable(tmp_path):
    from tests.registry.server import free_port

    with (
        RegistryClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff_s=0.01) as c,
        pytest.raises(errors.Unavailable),
    ):
        Verifier(c).verify("image-classification", ARM64, "tiny")


def test_verify_many_keeps_order_and_exactness(with_bases, weights):
    with RegistryClient(with_bases.url) as client:
        Builder(client).build(request(weights, AMD64, task="many", model="one"))
        results = Verifier(client).verify_many([
            ("many", AMD64, "one", "1.0"), ("many", ARM64, "one", "1.0"),
            ("man", AMD64, "one", "1.0"), ("many", AMD64, "one", "1.0")])
    assert [r.found is not None for r in results] == [True, False, False, True]
    assert results[1].misses[0].reason == PLATFORM_MISSING


def test_docker_manifest_list_written_by_skopeo_is_read_per_platform(with_bases, weights):
    """skopeo converts our OCI index to a Docker manifest list (v2s2) in another repo."""
    import subprocess

    with RegistryClient(with_bases.url) as client:
        Builder(client).build(request(weights, ARM64, task="dockerfmt", model="net"))
        Builder(client).build(request(weights, AMD64, task="dockerfmt", model="net"))
    src = f"{with_bases.netloc}/models/dockerfmt/net:1.0"
    dest = f"{with_bases.netloc}/models/dockerfmt/net-v2:1.0"
    subprocess.run(["skopeo", "copy", "--all", "--format", "v2s2", "--src-tls-verify=false",
                    "--dest-tls-verify=false", f"docker://{src}", f"docker://{dest}"],
                   check=True, capture_output=True, timeout=120)
    assert oracle.raw(dest)["mediaType"] == (
        "application/vnd.docker.distribution.manifest.list.v2+json")
    with RegistryClient(with_bases.url) as client:
        top = client.get_manifest("models/dockerfmt/net-v2", "1.0")
        assert top.is_index
        # The repo name says net-v2 but the labels say net: exact match refuses it...
        miss = Verifier(client).verify("dockerfmt", ARM64, "net-v2", "1.0")
        assert miss.found is None and miss.misses[0].reason == LABEL_MISMATCH
        # ...while the labels themselves are read from the arm64 child's config, not amd64's.
        outcome = Verifier(client).check("models/dockerfmt/net-v2", "1.0", ARM64,
                                         {labels.TASK: "dockerfmt", labels.MODEL: "net"})
    assert outcome.platform == "linux/arm64"
    assert outcome.index_digest == top.digest
    assert oracle.digest(f"{with_bases.netloc}/models/dockerfmt/net-v2@{outcome.manifest_digest}",
                         "arm64") == outcome.manifest_digest
