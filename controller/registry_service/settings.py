"""Registry endpoint and credentials, from EDGEFLEET_REGISTRY_* or ~/.docker/config.json.

EDGEFLEET_REGISTRY_URL (e.g. http://10.0.0.1:5000), EDGEFLEET_REGISTRY_USERNAME and
EDGEFLEET_REGISTRY_PASSWORD (or EDGEFLEET_REGISTRY_PASSWORD_FILE), EDGEFLEET_REGISTRY_BASE
(the multi-arch runtime base image, REPO:TAG in the same registry)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from controller.images.runtime import RUNTIME_REF
from registry.auth import Credentials, docker_config_credentials
from registry.client import RegistryClient
from registry.errors import NotConfigured

# The runtime `edgefleet registry runtime` pushes (Debian + python3 + PyTorch CPU per arch).
DEFAULT_BASE = RUNTIME_REF
CLI_HINT = "pass --url or set EDGEFLEET_REGISTRY_URL"


@dataclass(frozen=True)
class RegistrySettings:
    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    base: str = DEFAULT_BASE
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        # The client library defaults a bare host to https, as docker does; a setting or
        # flag without a scheme is refused instead, so http://-only lab registries never
        # fail later as a confusing TLS error.
        if self.url and not self.url.startswith(("http://", "https://")):
            raise NotConfigured(f"registry URL {self.url!r} has no scheme: give "
                                f"http://{self.url} or https://{self.url}")

    @classmethod
    def from_env(cls, **overrides: object) -> RegistrySettings:
        env = os.environ
        password = env.get("EDGEFLEET_REGISTRY_PASSWORD")
        if not password and (path := env.get("EDGEFLEET_REGISTRY_PASSWORD_FILE")):
            password = Path(path).read_text().strip()
        values: dict[str, object] = {
            "url": env.get("EDGEFLEET_REGISTRY_URL"),
            "username": env.get("EDGEFLEET_REGISTRY_USERNAME"),
            "password": password,
            "base": env.get("EDGEFLEET_REGISTRY_BASE", DEFAULT_BASE),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def credentials(self) -> Credentials | None:
        if self.username:
            return Credentials(self.username, self.password or "")
        return docker_config_credentials(self.url) if self.url else None

    def client(self, missing_hint: str = CLI_HINT) -> RegistryClient:
        """A client for the configured registry; `missing_hint` says, in the caller's terms,
        where the URL is set when there is none."""
        if not self.url:
            raise NotConfigured(f"no registry URL: {missing_hint}")
        return RegistryClient(self.url, self.credentials(), timeout=self.timeout_s)
