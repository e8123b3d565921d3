"""OCI distribution client on httpx: the few endpoints verify/build need, with strict checks.

Why in-house: full control of the Accept header (2.8 hands back the amd64 child otherwise),
typed errors, digest checks on everything read, and retries only where a retry is safe."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from registry import errors
from registry.auth import Credentials, RegistryAuth
from registry.layers import FileChunks
from registry.reference import check_digest, check_repo

log = logging.getLogger("edgefleet.registry")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_IDEMPOTENT = ("GET", "HEAD", "DELETE")
_RETRY_STATUS = (429, 502, 503, 504)
_CODES: dict[str, type[errors.RegistryError]] = {
    "NAME_UNKNOWN": errors.NameUnknown,
    "MANIFEST_UNKNOWN": errors.ManifestUnknown,
    "BLOB_UNKNOWN": errors.BlobUnknown,
    "MANIFEST_BLOB_UNKNOWN": errors.BlobUnknown,
    "UNAUTHORIZED": errors.Unauthorized,
    "DENIED": errors.Denied,
    "DIGEST_INVALID": errors.DigestMismatch,
    "NAME_INVALID": errors.InvalidReference,
    "TAG_INVALID": errors.InvalidReference,
    "TOOMANYREQUESTS": errors.Unavailable,
}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as served: the bytes (digest source), its type and parsed JSON."""

    media_type: str
    digest: str
    raw: bytes
    body: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def _error_for(response: httpx.Response, what: str) -> errors.RegistryError:
    """Typed error from a registry response; tolerates HTML/plain bodies (keeps 200 bytes)."""
    code, message = "", ""
    try:
        first = response.json()["errors"][0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        message = response.content[:200].decode("utf-8", "replace").strip()
    detail = f"{what}: HTTP {response.status_code}" + (f" {code}" if code else "")
    detail += f" ({message})" if message else ""
    cls = _CODES.get(code)
    if cls is None:
        cls = {401: errors.Unauthorized, 403: errors.Denied, 404: errors.NotFound}.get(
            response.status_code,
            errors.Unavailable if response.status_code >= 500 or response.status_code == 429
            else errors.RegistryError,
        )
    return cls(detail)


class RegistryClient:
    """One registry endpoint. Use as a context manager (it owns an httpx.Client)."""

    def __init__(
        self,
        url: str,
        credentials: Credentials | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        max_wait_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if "://" not in url:
            url = f"https://{url}"
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise errors.InvalidReference(f"invalid registry URL {url!r}")
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.retries, self.backoff_s, self.max_wait_s = retries, backoff_s, max_wait_s
        # No cookies at all: some registries set CSRF cookies that then break token auth.
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._http = httpx.Client(
            base_url=self.base, auth=RegistryAuth(credentials), timeout=timeout,
            follow_redirects=True, cookies=jar, transport=transport,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- transport ---------------------------------------------------------------------
    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send with retries for idempotent requests only; 429 honours Retry-After (capped)."""
        attempts = self.retries if method in _IDEMPOTENT else 1
        waited = 0.0
        for attempt in range(attempts):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise errors.Unavailable(
                        f"{what}: registry {self.host} unreachable ({type(exc).__name__})"
                    ) from None
                delay = self.backoff_s * 2**attempt * (1 + random.random())  # noqa: S311
            else:
                if response.status_code not in _RETRY_STATUS or attempt + 1 >= attempts:
                    return response
                delay = self._retry_after(response) or self.backoff_s * 2**attempt
            if waited + delay > self.max_wait_s:
                raise errors.Unavailable(f"{what}: registry {self.host} still busy, gave up")
            log.debug("%s: retrying in %.2fs", what, delay)
            time.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        try:
            return max(0.0, float(response.headers.get("Retry-After", "")))
        except ValueError:
            return None

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise errors.InvalidResponse(f"{what}: registry sent a body that is not JSON") from None
        if not isinstance(body, dict):
            raise errors.InvalidResponse(f"{what}: registry sent JSON that is not an object")
        return body

    # ---- API ---------------------------------------------------------------------------
    def ping(self) -> None:
        response = self._send("GET", "/v2/", "ping")
        if response.status_code != 200:
            raise _error_for(response, "ping")

    def _paginated(self, url: str, key: str, what: str, max_pages: int = 1000) -> list[str]:
        items: list[str] = []
        for _ in range(max_pages):
            response = self._send("GET", url, what)
            if response.status_code != 200:
                raise _error_for(response, what)
            values = self._json(response, what).get(key) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise errors.InvalidResponse(f"{what}: '{key}' is not a list of strings")
            items.extend(values)
            link = response.links.get("next", {}).get("url")
            if not link:
                return items
            # Opaque: follow it as given, relative to the page we got it from.
            url = urljoin(str(response.url), link)
            if urlsplit(url).netloc != self.host:
                raise errors.InvalidResponse(f"{what}: pagination link points to another host")
        raise errors.InvalidResponse(f"{what}: more than {max_pages} pages, stopped")

    def catalog(self) -> list[str]:
        """All repositories, sorted and deduplicated (`_catalog` may be disabled somewhere)."""
        return sorted(set(self._paginated("/v2/_catalog", "repositories", "catalog")))

    def tags(self, repo: str) -> list[str]:
        """Tags sorted and deduplicated here: 2.8 ignores n/last and returns them unordered."""
        check_repo(repo)
        return sorted(set(self._paginated(f"/v2/{repo}/tags/list", "tags", f"tags of {repo}")))

    def get_manifest(self, repo: str, ref: str) -> Manifest:
        """GET with the full Accept list; checks digest and media type of what came back."""
        check_repo(repo)
        what = f"manifest {repo}:{ref}" if not ref.startswith("sha256:") else f"{repo}@{ref}"
        response = self._send("GET", f"/v2/{repo}/manifests/{ref}", what,
                              headers={"Accept": ACCEPT})
        if response.status_code != 200:
            raise _error_for(response, what)
        raw = response.content
        if len(raw) > MAX_MANIFEST_BYTES:
            raise errors.InvalidResponse(f"{what}: manifest larger than 4 MiB")
        digest = sha256_digest(raw)
        header = response.headers.get("Docker-Content-Digest")
        if header and header != digest:
            raise errors.DigestMismatch(f"{what}: body hashes to {digest}, registry said {header}")
        if ref.startswith("sha256:") and ref != digest:
            raise errors.DigestMismatch(f"{what}: body hashes to {digest}")
        body = self._json(response, what)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        declared = body.get("mediaType")
        if declared and media_type not in (declared, "application/json", ""):
            raise errors.InvalidResponse(f"{what}: Content-Type {media_type} != {declared}")
        media_type = declared or media_type
        if media_type not in INDEX_TYPES + MANIFEST_TYPES:
            raise errors.InvalidResponse(f"{what}: unsupported manifest type {media_type!r}")
        return Manifest(media_type, digest, raw, body)

    def head_manifest(self, repo: str, ref: str) -> str | None:
        """Digest of a manifest, or None when the tag/digest doesn't exist."""
        check_repo(repo)
        what = f"manifest {repo}:{ref}"
        response = self._send("HEAD", f"/v2/{repo}/manifests/{ref}", what,
                              headers={"Accept": ACCEPT})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _error_for(response, what)
        return response.headers.get("Docker-Content-Digest")

    def put_manifest(self, repo: str, ref: str, raw: bytes, media_type: str) -> str:
        """Store exactly these bytes; returns (and checks) the digest the registry reports."""
        check_repo(repo)
        what = f"push manifest {repo}:{ref}"
        response = self._send("PUT", f"/v2/{repo}/manifests/{ref}", what, content=raw,
                              headers={"Content-Type": media_type})
        if response.status_code not in (200, 201):
            raise _error_for(response, what)
        digest = sha256_digest(raw)
        header = response.headers.get("Docker-Content-Digest")
        if header and header != digest:
            raise errors.DigestMismatch(f"{what}: registry stored {header}, we sent {digest}")
        return digest

    def get_blob(self, repo: str, digest: str) -> bytes:
        check_repo(repo)
        check_digest(digest)
        what = f"blob {repo}@{digest}"
        response = self._send("GET", f"/v2/{repo}/blobs/{digest}", what)
        if response.status_code != 200:
            raise _error_for(response, what)
        if sha256_digest(response.content) != digest:
            raise errors.DigestMismatch(f"{what}: content does not match its digest")
        return response.content

    def get_json_blob(self, repo: str, digest: str) -> dict[str, Any]:
        data = self.get_blob(repo, digest)
        try:
            body = json.loads(data)
        except ValueError:
            raise errors.InvalidResponse(f"blob {repo}@{digest} is not JSON") from None
        if not isinstance(body, dict):
            raise errors.InvalidResponse(f"blob {repo}@{digest} is not a JSON object")
        return body

    def blob_exists(self, repo: str, digest: str) -> bool:
        check_repo(repo)
        check_digest(digest)
        what = f"blob {repo}@{digest}"
        response = self._send("HEAD", f"/v2/{repo}/blobs/{digest}", what)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise _error_for(response, what)
        return True

    def mount_blob(self, repo: str, digest: str, from_repo: str) -> bool:
        """Cross-repo mount; False (and the stray upload session deleted) when not mounted."""
        check_repo(repo)
        check_repo(from_repo)
        check_digest(digest)
        what = f"mount {digest} from {from_repo} into {repo}"
        response = self._send("POST", f"/v2/{repo}/blobs/uploads/", what,
                              params={"mount": digest, "from": from_repo})
        if response.status_code == 201:
            return True
        if response.status_code == 202:
            self._cancel(response, what)
            return False
        raise _error_for(response, what)

    def _cancel(self, response: httpx.Response, what: str) -> None:
        location = response.headers.get("Location")
        if location:
            self._send("DELETE", urljoin(str(response.url), location), f"cancel {what}")

    def push_blob(self, repo: str, data: bytes, digest: str | None = None) -> str:
        """Monolithic upload (POST then PUT ?digest=), skipped when the blob is already there.

        `digest` saves re-hashing a large blob the caller already hashed."""
        digest = digest or sha256_digest(data)
        if not self.blob_exists(repo, digest):
            self._upload(repo, digest, data, len(data))
        return digest

    def push_blob_file(self, repo: str, path: Path, digest: str) -> str:
        """As push_blob, for a blob on disk (a layer of hundreds of MB): the PUT body is
        streamed from the file in chunks; the registry checks `digest` against what it got."""
        check_digest(digest)
        if not self.blob_exists(repo, digest):
            self._upload(repo, digest, FileChunks(path), path.stat().st_size)
        return digest

    def _upload(self, repo: str, digest: str, body: bytes | Iterable[bytes], size: int) -> None:
        what = f"upload {digest} to {repo}"
        start = self._send("POST", f"/v2/{repo}/blobs/uploads/", what)
        if start.status_code != 202:
            raise _error_for(start, what)
        location = start.headers.get("Location")
        if not location:
            raise errors.InvalidResponse(f"{what}: no Location for the upload session")
        # Relative or absolute; 2.8 already puts ?_state=... in it, so add to its query.
        url = httpx.URL(urljoin(str(start.url), location))
        url = url.copy_merge_params({"digest": digest})
        if url.host != httpx.URL(self.base).host:
            raise errors.InvalidResponse(f"{what}: upload Location points to another host")
        done = self._send("PUT", str(url), what, content=body,
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Length": str(size)})
        if done.status_code != 201:
            err = _error_for(done, what)
            self._send("DELETE", str(url.copy_remove_param("digest")), f"cancel {what}")
            raise err
