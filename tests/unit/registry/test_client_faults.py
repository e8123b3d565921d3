"""The client's error handling with injected faults (no network: httpx.MockTransport)."""

import hashlib
import json

import httpx
import pytest

from registry import errors
from registry.auth import Credentials
from registry.client import ACCEPT, OCI_INDEX, OCI_MANIFEST, RegistryClient

REPO = "models/car/net"


def client_for(handler, **kw) -> RegistryClient:
    return RegistryClient("http://reg.test:5000", transport=httpx.MockTransport(handler),
                          backoff_s=0.001, **kw)


def digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def err(status: int, code: str, msg: str = "m") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": msg}]})


def manifest_response(body: dict, *, header_digest: str | None = None) -> httpx.Response:
    raw = json.dumps(body).encode()
    return httpx.Response(200, content=raw, headers={
        "Content-Type": body["mediaType"],
        "Docker-Content-Digest": header_digest or digest(raw)})


@pytest.mark.parametrize(("code", "cls"), [
    ("MANIFEST_UNKNOWN", errors.ManifestUnknown),
    ("NAME_UNKNOWN", errors.NameUnknown),
    ("BLOB_UNKNOWN", errors.BlobUnknown),
])
def test_404_codes_become_typed_not_found(code, cls):
    with client_for(lambda r: err(404, code)) as client, pytest.raises(cls) as info:
        client.get_manifest(REPO, "1.0")
    assert code in str(info.value) and isinstance(info.value, errors.NotFound)


def test_full_accept_header_is_sent_on_manifest_requests():
    seen = []

    def handler(request):
        seen.append(request.headers["Accept"])
        return manifest_response({"mediaType": OCI_INDEX, "schemaVersion": 2, "manifests": []})

    with client_for(handler) as client:
        assert client.get_manifest(REPO, "1.0").is_index
    assert seen == [ACCEPT]
    assert all(t in ACCEPT for t in (OCI_INDEX, OCI_MANIFEST,
               "application/vnd.docker.distribution.manifest.list.v2+json"))


def test_digest_header_that_does_not_match_body_is_corruption():
    body = {"mediaType": OCI_MANIFEST, "schemaVersion": 2}
    with (
        client_for(lambda r: manifest_response(body, header_digest="sha256:" + "0" * 64)) as c,
        pytest.raises(errors.DigestMismatch),
    ):
        c.get_manifest(REPO, "1.0")


def test_manifest_by_digest_must_hash_to_that_digest():
    body = {"mediaType": OCI_MANIFEST, "schemaVersion": 2}
    wanted = "sha256:" + "a" * 64
    # No header at all: the body itself is checked against the digest we asked for.
    raw = json.dumps(body).encode()
    resp = httpx.Response(200, content=raw, headers={"Content-Type": OCI_MANIFEST})
    with client_for(lambda r: resp) as client, pytest.raises(errors.DigestMismatch):
        client.get_manifest(REPO, wanted)


def test_blob_content_is_checked_against_its_digest():
    good = b"config"
    with (
        client_for(lambda r: httpx.Response(200, content=b"tampered")) as client,
        pytest.raises(errors.DigestMismatch),
    ):
        client.get_blob(REPO, digest(good))


def test_missing_blob_is_blob_unknown_and_head_says_false():
    def handler(request):
        if request.method == "HEAD":
            return httpx.Response(404)
        return err(404, "BLOB_UNKNOWN")

    with client_for(handler) as client:
        assert client.blob_exists(REPO, digest(b"x")) is False
        with pytest.raises(errors.BlobUnknown):
            client.get_blob(REPO, digest(b"x"))


def test_non_json_error_body_keeps_status_and_text():
    html = "<html><body>404 page not found</body></html>"
    with (
        client_for(lambda r: httpx.Response(404, text=html)) as client,
        pytest.raises(errors.NotFound) as info,
    ):
        client.tags(REPO)
    assert "HTTP 404" in str(info.value) and "page not found" in str(info.value)


def test_non_json_success_body_is_invalid_response():
    with (
        client_for(lambda r: httpx.Response(200, text="<html>proxy login</html>")) as client,
        pytest.raises(errors.InvalidResponse),
    ):
        client.catalog()


def test_5xx_is_retried_for_get_then_unavailable():
    calls = []

    def handler(request):
        calls.append(request.method)
        return httpx.Response(503, text="busy")

    with client_for(handler, retries=3) as client, pytest.raises(errors.Unavailable):
        client.tags(REPO)
    assert calls == ["GET"] * 3


def test_5xx_then_success_recovers():
    answers = iter([httpx.Response(502), httpx.Response(200, json={"tags": ["b", "a"]})])
    with client_for(lambda r: next(answers)) as client:
        assert client.tags(REPO) == ["a", "b"]


def test_non_idempotent_requests_are_not_retried():
    calls = []

    def handler(request):
        calls.append(request.method)
        return httpx.Response(503)

    with client_for(handler) as client, pytest.raises(errors.Unavailable):
        client.put_manifest(REPO, "1.0", b"{}", OCI_MANIFEST)
    assert calls == ["PUT"]


def test_429_honours_retry_after_within_cap():
    answers = iter([httpx.Response(429, headers={"Retry-After": "0"}),
                    httpx.Response(200, json={"tags": ["1.0"]})])
    with client_for(lambda r: next(answers)) as client:
        assert client.tags(REPO) == ["1.0"]
    with (
        client_for(lambda r: httpx.Response(429, headers={"Retry-After": "3600"})) as client,
        pytest.raises(errors.Unavailable, match="gave up"),
    ):
        client.tags(REPO)


def test_connection_refused_is_unavailable():
    def handler(request):
        raise httpx.ConnectError("Connection refused")

    with client_for(handler) as client, pytest.raises(errors.Unavailable, match="unreachable"):
        client.ping()


def test_link_pagination_is_opaque_and_relative_and_result_sorted_unique():
    pages = {
        "/v2/_catalog": ({"repositories": ["z", "models/car/net"]},
                         '</v2/_catalog?next_page=opaque%2Ftoken&n=2>; rel="next"'),
        "/v2/_catalog?next_page=opaque%2Ftoken&n=2": ({"repositories": ["a", "z"]}, None),
    }

    def handler(request):
        path = request.url.raw_path.decode()
        body, link = pages[path]
        return httpx.Response(200, json=body, headers={"Link": link} if link else {})

    with client_for(handler) as client:
        assert client.catalog() == ["a", "models/car/net", "z"]


def test_pagination_link_to_another_host_is_refused():
    def handler(request):
        return httpx.Response(200, json={"tags": ["1"]},
                              headers={"Link": '<http://evil.test/v2/x>; rel="next"'})

    with client_for(handler) as client, pytest.raises(errors.InvalidResponse):
        client.tags(REPO)


@pytest.mark.parametrize("location", [
    "/v2/models/car/net/blobs/uploads/u1?_state=abc",
    "http://reg.test:5000/v2/models/car/net/blobs/uploads/u1?_state=abc",
])
def test_upload_location_relative_or_absolute_keeps_state_and_adds_digest(location):
    data = b"layer bytes"
    puts = []

    def handler(request):
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": location})
        puts.append(request.url)
        return httpx.Response(201, headers={"Docker-Content-Digest": digest(data)})

    with client_for(handler) as client:
        assert client.push_blob(REPO, data) == digest(data)
    (url,) = puts
    assert url.path == "/v2/models/car/net/blobs/uploads/u1"
    assert url.params["_state"] == "abc" and url.params["digest"] == digest(data)


def test_rejected_upload_is_typed_and_session_cancelled():
    methods = []

    def handler(request):
        methods.append(request.method)
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/x/blobs/uploads/u?_state=s"})
        if request.method == "PUT":
            return err(400, "DIGEST_INVALID")
        return httpx.Response(204)

    with client_for(handler) as client, pytest.raises(errors.DigestMismatch):
        client.push_blob("x", b"data")
    assert methods == ["HEAD", "POST", "PUT", "DELETE"]


def test_mount_falling_back_to_upload_session_deletes_it():
    methods = []

    def handler(request):
        methods.append((request.method, request.url.params.get("mount")))
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/x/blobs/uploads/u"})
        return httpx.Response(204)

    with client_for(handler) as client:
        assert client.mount_blob("x", digest(b"a"), "base/rt") is False
    assert methods == [("POST", digest(b"a")), ("DELETE", None)]


def test_basic_auth_answers_challenge_then_refused_credentials_are_unauthorized():
    def handler(request):
        if request.headers.get("Authorization") == Credentials("u", "p").basic_header():
            return httpx.Response(200, json={})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    with client_for(handler, credentials=Credentials("u", "p")) as client:
        client.ping()
    with (
        client_for(handler, credentials=Credentials("u", "wrong")) as client,
        pytest.raises(errors.Unauthorized, match="refused"),
    ):
        client.ping()
    with client_for(handler) as client, pytest.raises(errors.Unauthorized, match="requires"):
        client.ping()


def test_bearer_token_fetched_once_and_cached_by_scope():
    token_calls = []

    def handler(request):
        if request.url.host == "auth.test":
            token_calls.append(request.url.params.get_list("scope"))
            return httpx.Response(200, json={"token": "T1", "expires_in": 300})
        if request.headers.get("Authorization") == "Bearer T1":
            return httpx.Response(200, json={"tags": ["1.0"]})
        return httpx.Response(401, headers={"WWW-Authenticate": (
            'Bearer realm="http://auth.test/token",service="reg",'
            f'scope="repository:{REPO}:pull"')})

    with client_for(handler) as client:
        assert client.tags(REPO) == ["1.0"]
        assert client.tags(REPO) == ["1.0"]
    assert token_calls == [[f"repository:{REPO}:pull"]]


def test_insufficient_scope_after_token_is_denied():
    def handler(request):
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "weak"})
        if request.headers.get("Authorization"):
            return httpx.Response(401, headers={"WWW-Authenticate": (
                'Bearer realm="http://auth.test/t",service="reg",'
                f'scope="repository:{REPO}:pull,push",error="insufficient_scope"')})
        return httpx.Response(401, headers={"WWW-Authenticate": (
            f'Bearer realm="http://auth.test/t",service="reg",scope="repository:{REPO}:pull,push"')})

    with client_for(handler) as client, pytest.raises(errors.Denied):
        client.put_manifest(REPO, "1.0", b"{}", OCI_MANIFEST)


def test_token_server_refusal_is_unauthorized():
    def handler(request):
        if request.url.host == "auth.test":
            return httpx.Response(401)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.test/t"'})

    with (
        client_for(handler, credentials=Credentials("u", "bad")) as client,
        pytest.raises(errors.Unauthorized, match="token server"),
    ):
        client.ping()


def test_registry_errors_are_controller_errors_with_http_status():
    from controller.errors import ControllerError

    assert issubclass(errors.RegistryError, ControllerError)
    assert errors.Unavailable.http_status == 503 and errors.NotFound.http_status == 404
    # An upstream auth refusal is a gateway problem, not the API caller's bad token.
    assert errors.Unauthorized.http_status == 502 and errors.Denied.http_status == 502


def test_bad_registry_url_is_refused_locally():
    with pytest.raises(errors.InvalidReference):
        RegistryClient("ftp://x")
