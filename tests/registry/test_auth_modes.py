"""Basic (htpasswd, bcrypt) and Bearer-token auth against the real registry."""

from __future__ import annotations

import pytest

from registry import errors
from registry.auth import Credentials
from registry.build import Builder, BuildRequest
from registry.client import RegistryClient
from registry.platforms import parse
from registry.verify import Verifier
from tests.registry import oracle
from tests.registry.conftest import CREDS, push_busybox_bases
from tests.registry.images import BASE_REF
from tests.registry.server import PASSWORD, READER, READER_PASSWORD, USER, running_registry

ARM64 = parse("arm64")


def _build(client, weights, model="secure"):
    return Builder(client).build(BuildRequest("image-classification", model, "1.0", ARM64,
                                              weights, BASE_REF))


@pytest.mark.parametrize("mode", ["basic", "token"])
def test_build_and_verify_with_credentials(mode, tmp_path, weights):
    with running_registry(tmp_path / "reg", auth=mode) as server:
        with RegistryClient(server.url, CREDS) as client:
            push_busybox_bases(client, tmp_path, arches=("arm64",))
            built = _build(client, weights)
            found = Verifier(client).verify("image-classification", ARM64).found
            assert found is not None and found.manifest_digest == built.manifest_digest
        assert oracle.digest(f"{server.netloc}/models/image-classification/secure:1.0-linux-arm64",
                             "arm64", creds=f"{USER}:{PASSWORD}") == built.manifest_digest

        with (
            RegistryClient(server.url, Credentials(USER, "wrong")) as client,
            pytest.raises(errors.Unauthorized),
        ):
            Verifier(client).verify("image-classification", ARM64, "secure", "1.0")
        if mode == "token":
            assert server.token_server.issued.count(USER) >= 1
            with RegistryClient(server.url, Credentials(READER, READER_PASSWORD)) as client:
                # Pull rights only: verify works, pushing is denied (insufficient_scope).
                assert Verifier(client).verify("image-classification", ARM64, "secure",
                                               "1.0").found is not None
                with pytest.raises(errors.Denied):
                    _build(client, weights, model="forbidden")
        else:
            with RegistryClient(server.url) as client, pytest.raises(errors.Unauthorized):
                client.tags("models/image-classification/secure")
