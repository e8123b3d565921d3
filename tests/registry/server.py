"""A real distribution 2.8 registry (Debian `docker-registry`) on a free port, three auth modes.

Open, htpasswd (bcrypt) Basic, and Bearer tokens from a small in-test token server that
signs ES256 JWTs carrying an x5c chain the registry trusts through its rootcertbundle."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
import jwt
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.scratch import remove_tree

BINARY = shutil.which("docker-registry")
SERVICE = "edgefleet-test-registry"
ISSUER = "edgefleet-test-issuer"
USER, PASSWORD = "fleet", "s3cret-pass"
READER, READER_PASSWORD = "reader", "read-only-pass"  # token server grants it pull only


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class TokenServer:
    """Issues tokens for the scopes asked, intersected with what the user may do."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    host: str = "127.0.0.1"
    issued: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @classmethod
    def create(cls, host: str = "127.0.0.1") -> TokenServer:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgefleet test token")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key=key, cert=cert, host=host)

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def grant(self, user: str | None, scope: str) -> dict | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        allowed = {USER: {"pull", "push", "*"}, READER: {"pull"}}.get(user or "", set())
        granted = [a for a in actions.split(",") if a in allowed]
        return {"type": kind, "name": name, "actions": granted} if granted else None

    def token(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        access = [g for s in scopes if (g := self.grant(user, s))]
        claims = {"iss": ISSUER, "sub": user or "", "aud": SERVICE, "iat": now, "nbf": now - 5,
                  "exp": now + 300, "jti": uuid.uuid4().hex, "access": access}
        x5c = [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.issued.append(user or "")
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": x5c})

    def start(self) -> str:
        server_ref = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    login, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if {USER: PASSWORD, READER: READER_PASSWORD}.get(login) != password:
                        self.send_response(401)
                        self.end_headers()
                        return
                    user = login
                body = json.dumps({"token": server_ref.token(user, query.get("scope", [])),
                                   "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://{self.host}:{self._server.server_address[1]}/token"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class RegistryServer:
    url: str
    host: str
    process: subprocess.Popen
    root: Path
    token_server: TokenServer | None = None

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc


def _config(root: Path, addr: str, auth: str, token_realm: str | None) -> dict:
    config: dict = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")},
                    "delete": {"enabled": True}},
        "http": {"addr": addr, "secret": uuid.uuid4().hex},
        "catalog": {"maxentries": 5},
    }
    if auth == "basic":
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=5)).decode()
        (root / "htpasswd").write_text(f"{USER}:{hashed}\n")
        config["auth"] = {"htpasswd": {"realm": "edgefleet-test", "path": str(root / "htpasswd")}}
    elif auth == "token":
        config["auth"] = {"token": {"realm": token_realm, "service": SERVICE, "issuer": ISSUER,
                                    "rootcertbundle": str(root / "token.pem")}}
    return config


@contextlib.contextmanager
def running_registry(root: Path, auth: str = "open", host: str = "127.0.0.1",
                     port: int | None = None) -> Iterator[RegistryServer]:
    """Start `docker-registry serve`, wait for /v2/, and kill it by PID afterwards."""
    assert BINARY, "docker-registry is not installed (scripts/bootstrap.sh installs it)"
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    token_server, realm = None, None
    if auth == "token":
        token_server = TokenServer.create(host)
        realm = token_server.start()
        (root / "token.pem").write_bytes(token_server.cert_pem())
    config_path = root / "config.yml"
    config_path.write_text(yaml.safe_dump(_config(root, f"{host}:{port}", auth, realm)))
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([BINARY, "serve", str(config_path)], stdout=log, stderr=log)
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.05)
        yield RegistryServer(url=url, host=host, process=proc, root=root,
                             token_server=token_server)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if token_server:
            token_server.stop()
        remove_tree(root / "data")  # blobs: a runtime push is ~2 GB per registry
