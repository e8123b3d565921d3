"""Announce this device over mDNS/DNS-SD and, without a token, enrol through the controller.

Why a private service type: the avahi prototype published `_workstation._tcp`, so every
Linux desktop on the LAN looked like a device. Only `_edgefleet._tcp.local.` is browsed.

The TXT record (ASCII, checked by `validate_txt` here before announcing and by the
controller before recording): `id`, `arch` (OCI name), `agent_version`, `hostname`,
`metrics_port`, and `claim`, the SHA-256 of this device's claim secret. The secret (256
random bits, `claim_secret` beside the spool, mode 0600, made once) never leaves the
device except in `POST /api/discovery/claim`, so whoever copies the public TXT record
cannot collect the token that the operator's approval issues. The token is answered once,
stored 0600 beside the spool (`device_token`) and used from then on.

zeroconf is imported only when announcing: `validate_txt` stays cheap for the controller
and an agent started without `--announce`/`--enrol` never loads it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

SERVICE_TYPE = "_edgefleet._tcp.local."
CLAIM_PATH = "/api/discovery/claim"
ARCHES = frozenset({"arm64", "amd64", "arm"})
SECRET_FILE = "claim_secret"  # noqa: S105 - a file name, not a secret
TOKEN_FILE = "device_token"  # noqa: S105 - a file name, not a secret

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
TXT_RULES: dict[str, re.Pattern[str]] = {
    "id": re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    "arch": re.compile(r"^[a-z0-9_]{1,16}$"),
    "agent_version": re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$"),
    "hostname": re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$"),
    "metrics_port": re.compile(r"^(?:0|[1-9][0-9]{0,4})$"),
    "claim": re.compile(r"^[0-9a-f]{64}$"),
}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
_ADDRESS_CHECK_S = 30.0

log = logging.getLogger("edgefleet.agent.discovery")


class EnrolmentError(Exception):
    """Enrolment cannot go on (rejected by the operator, unusable state files): one line."""


def validate_txt(txt: Mapping[str, str]) -> dict[str, str]:
    """The announced fields, checked; ValueError names the first bad one. Unknown keys drop."""
    out: dict[str, str] = {}
    for key, rule in TXT_RULES.items():
        value = txt.get(key)
        if value is None:
            raise ValueError(f"TXT {key} is missing")
        if not rule.match(value):
            raise ValueError(f"TXT {key}={value[:80]!r} is not valid")
        out[key] = value
    if out["arch"] not in ARCHES:
        raise ValueError(f"TXT arch={out['arch']!r} is not one of {', '.join(sorted(ARCHES))}")
    if int(out["metrics_port"]) > 65535:
        raise ValueError(f"TXT metrics_port={out['metrics_port']} is not a port")
    return out


def claim_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def txt_record(device: Mapping[str, Any], metrics_port: int, secret: str) -> dict[str, str]:
    """The TXT record for `device` (agent.protocol's device object); ValueError if invalid."""
    return validate_txt({
        "id": str(device["id"]), "arch": str(device["arch"]),
        "agent_version": str(device["agent_version"]), "hostname": str(device["hostname"]),
        "metrics_port": str(metrics_port), "claim": claim_hash(secret),
    })


# ---- private state beside the spool -------------------------------------------------------
def read_private(path: Path) -> str | None:
    """A stored secret, or None when there is none yet; refuses a file others can read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnrolmentError(f"cannot read {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise EnrolmentError(f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600")
    return text or None


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600: a crash leaves the old file or the new one, whole."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_secret(state_dir: Path) -> str:
    """This device's claim secret, made on first use and kept for good."""
    path = state_dir / SECRET_FILE
    secret = read_private(path)
    if secret is None:
        secret = secrets.token_urlsafe(32)
        write_private(path, secret)
    return secret


# ---- announcing ---------------------------------------------------------------------------
def lan_addresses() -> list[str]:
    """This device's IPv4 addresses a LAN peer can reach (no loopback, no link-local)."""
    import ifaddr

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith(("127.", "169.254.")):
                found.append(ip.ip)
    return sorted(set(found))


def instance_label(hostname: str, device_id: str) -> str:
    """`raspberrypi-2f1c6a52`: the hostname alone would collide on a LAN of default-named
    Pis (zeroconf does not resolve probe conflicts), and `<hostname>.local` is avahi's."""
    suffix = re.sub(r"[^a-z0-9]", "", device_id.lower())[:8]
    return f"{hostname.split('.')[0][:54]}-{suffix}"


class Announcer:
    """Keeps the service registered from a thread of its own: it retries while the network
    is down and re-registers when the device's addresses change (DHCP, roaming)."""

    def __init__(self, txt: Mapping[str, str], port: int,
                 addresses: Sequence[str] | None = None) -> None:
        self.txt = validate_txt(txt)
        self.port = port
        self._fixed = list(addresses) if addresses else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._zc: Any = None
        self._info: Any = None
        self.addresses: list[str] = []
        self.registered = threading.Event()
        self._last_error: str | None = None

    def start(self) -> Announcer:
        self._thread = threading.Thread(target=self._keep, name="announcer", daemon=True)
        self._thread.start()
        return self

    def _keep(self) -> None:
        while not self._stop.is_set():
            wanted = self._fixed or lan_addresses()
            if wanted != self.addresses:
                self._unregister()
                if wanted:
                    self._register(wanted)
            self._stop.wait(_ADDRESS_CHECK_S)
        self._unregister()

    def _register(self, addresses: list[str]) -> None:
        from zeroconf import Error, IPVersion, ServiceInfo, Zeroconf

        label = instance_label(self.txt["hostname"], self.txt["id"])
        info = ServiceInfo(SERVICE_TYPE, f"{label}.{SERVICE_TYPE}", port=self.port,
                           properties=self.txt, server=f"{label}.local.",
                           parsed_addresses=addresses)
        zc = None
        try:
            zc = Zeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
            zc.register_service(info, allow_name_change=True)
        except (Error, OSError) as exc:
            if zc is not None:
                zc.close()
            if str(exc) != self._last_error:
                log.warning("cannot announce on %s (retrying): %s", ", ".join(addresses), exc)
                self._last_error = str(exc)
            return
        self._zc, self._info, self.addresses, self._last_error = zc, info, addresses, None
        self.registered.set()
        log.info("announced as %s on %s", info.name, ", ".join(addresses))

    def _unregister(self) -> None:
        if self._zc is not None:
            self._zc.unregister_service(self._info)  # goodbye packets: browsers drop it now
            self._zc.close()
        self._zc, self._info, self.addresses = None, None, []
        self.registered.clear()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# ---- claiming the token -------------------------------------------------------------------
class ClaimStatus(Enum):
    ISSUED = "issued"  # 200: the token, answered this once
    PENDING = "pending"  # 202: waiting for the operator
    REJECTED = "rejected"  # 403: the operator said no
    RETRY = "retry"  # unknown yet (404), secret mismatch (401), conflict, 5xx, network


@dataclass(frozen=True)
class ClaimResult:
    status: ClaimStatus
    detail: str
    token: str | None = None


def claim(controller_url: str, device_id: str, secret: str,
          timeout_s: float = 5.0) -> ClaimResult:
    """One `POST /api/discovery/claim`; never raises for network or HTTP trouble."""
    if not controller_url.startswith(("http://", "https://")):
        raise EnrolmentError(f"controller URL must be http:// or https://: {controller_url}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        controller_url.rstrip("/") + CLAIM_PATH, method="POST",
        data=json.dumps({"device_id": device_id, "claim_secret": secret}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        if exc.code == 403:
            return ClaimResult(ClaimStatus.REJECTED, detail)
        return ClaimResult(ClaimStatus.RETRY, f"HTTP {exc.code}: {detail}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return ClaimResult(ClaimStatus.RETRY,
                           f"controller unreachable: {getattr(exc, 'reason', exc)}")
    except ValueError as exc:
        return ClaimResult(ClaimStatus.RETRY, f"unreadable answer: {exc}")
    token = answer.get("token") if isinstance(answer, dict) else None
    if status == 200 and isinstance(token, str) and _TOKEN.match(token):
        return ClaimResult(ClaimStatus.ISSUED, "approved", token)
    if status == 202:
        return ClaimResult(ClaimStatus.PENDING, "waiting for an operator's approval")
    return ClaimResult(ClaimStatus.RETRY, f"unexpected answer (HTTP {status})")


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("detail") or exc.reason)[:300]
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)[:300]


def wait_for_token(controller_url: str, device_id: str, state_dir: Path,
                   stop: threading.Event, poll_s: float = 5.0) -> str | None:
    """Poll the claim until the operator decides; store and return the token (None if
    stopped first). A rejection raises EnrolmentError: nothing joins without approval."""
    secret = load_secret(state_dir)
    last = None
    while not stop.is_set():
        result = claim(controller_url, device_id, secret)
        if result.status is ClaimStatus.ISSUED:
            assert result.token is not None
            write_private(state_dir / TOKEN_FILE, result.token)
            log.info("enrolled: token stored in %s", state_dir / TOKEN_FILE)
            return result.token
        if result.status is ClaimStatus.REJECTED:
            raise EnrolmentError(f"the controller rejected this device: {result.detail}")
        if result.detail != last:
            log.info("enrolment of %s: %s", device_id, result.detail)
            last = result.detail
        stop.wait(poll_s * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
    return None


def start(controller_url: str, device: Mapping[str, Any], metrics_port: int, state_dir: Path,
          token: str, stop: threading.Event,
          addresses: Sequence[str] | None = None) -> tuple[str | None, Announcer]:
    """Announce this device; with no token (given or stored by an earlier enrolment), wait
    for approval. Returns (token or None when stopped first, the running announcer)."""
    for a in addresses or ():
        try:
            ipaddress.IPv4Address(a)
        except ValueError:
            raise EnrolmentError(f"announce address {a!r} is not an IPv4 address") from None
    try:
        txt = txt_record(device, metrics_port, load_secret(state_dir))
    except (ValueError, OSError) as exc:
        raise EnrolmentError(f"cannot announce this device: {exc}") from None
    announcer = Announcer(txt, metrics_port, addresses).start()
    token = token or read_private(state_dir / TOKEN_FILE) or ""
    if token:
        return token, announcer
    log.info("no device token: announced as %s (%s), waiting for approval at %s",
             txt["hostname"], txt["id"], controller_url)
    try:
        return wait_for_token(controller_url, txt["id"], state_dir, stop), announcer
    except BaseException:
        announcer.close()
        raise
