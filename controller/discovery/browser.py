"""Browse `_edgefleet._tcp` on the controller's interfaces and feed the registry.

zeroconf calls the handler on its own thread, which must not block, so the handler only
notes the name; a worker thread resolves names (from zeroconf's cache while the device's
records are fresh, by a query when they are not), validates and records them, and
expires stale rows. A device that vanished without a goodbye stops resolving once its
records' TTL runs out, so its `last_seen` stops moving and the registry expires it.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Sequence
from typing import Any

from agent.discovery import SERVICE_TYPE
from controller.discovery import announcements
from controller.discovery.registry import Registry

log = logging.getLogger("edgefleet.discovery")
_RESOLVE_MS = 3000


def local_networks(interfaces: Sequence[str]) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the controller's interfaces (all of them when none are named)."""
    import ifaddr

    nets = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and (not interfaces or ip.ip in interfaces):
                nets.append(ipaddress.IPv4Interface(f"{ip.ip}/{ip.network_prefix}").network)
    return nets


class Browser:
    def __init__(self, registry: Registry, interfaces: Sequence[str] = (),
                 refresh_s: float = 30.0) -> None:
        self.registry = registry
        self.interfaces = tuple(interfaces)
        self.refresh_s = refresh_s
        self._names: set[str] = set()
        self._reported: dict[str, str] = {}  # name -> last problem logged (log it once)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._zc: Any = None
        self._browser: Any = None
        self._thread: threading.Thread | None = None
        self._networks: list[ipaddress.IPv4Network] = []

    def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, Zeroconf

        self._networks = local_networks(self.interfaces)
        self._zc = Zeroconf(interfaces=list(self.interfaces) or InterfaceChoice.All,
                            ip_version=IPVersion.V4Only)
        self._thread = threading.Thread(target=self._work, name="discovery", daemon=True)
        self._thread.start()
        self._browser = ServiceBrowser(self._zc, SERVICE_TYPE, handlers=[self._on_change])
        log.info("browsing %s on %s", SERVICE_TYPE, ", ".join(self.interfaces) or "all interfaces")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._browser is not None:
            self._browser.cancel()
        if self._thread is not None:
            self._thread.join(timeout=_RESOLVE_MS / 1000 + 5)
        if self._zc is not None:
            self._zc.close()

    def _on_change(self, zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        from zeroconf import ServiceStateChange

        with self._lock:
            if state_change is ServiceStateChange.Removed:
                self._names.discard(name)
                self._reported.pop(name, None)
            else:
                self._names.add(name)
        self._wake.set()

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                names = sorted(self._names)
            for name in names:
                if self._stop.is_set():
                    return
                self._resolve(name)
            try:
                self.registry.expire()
            except Exception:  # the worker must outlive a store hiccup
                log.exception("expiring discovered devices failed")
            self._wake.wait(self.refresh_s)

    def _resolve(self, name: str) -> None:
        from zeroconf import IPVersion

        info = self._zc.get_service_info(SERVICE_TYPE, name, timeout=_RESOLVE_MS)
        if info is None:
            return  # gone quiet: last_seen stays, and the row expires
        try:
            addresses = info.parsed_addresses(IPVersion.V4Only)
            ann = announcements.parse(name, info.properties, addresses)
            outcome = self.registry.record(
                ann, announcements.pick_address(ann.addresses, self._networks))
        except ValueError as exc:
            self._report(name, f"ignored announcement {name!r}: {exc}")
            return
        except Exception:
            log.exception("recording announcement %r failed", name)
            return
        if outcome == "conflict":
            self._report(name, f"ignored announcement {name!r}: device {ann.device_id} is "
                               "already known with another claim secret (a copy, or a "
                               "reinstalled agent: the old entry expires if it goes quiet)")
        elif outcome == "full":
            self._report(name, f"ignored announcement {name!r}: "
                               f"{self.registry.settings.max_pending} devices already pending")
        else:
            self._reported.pop(name, None)

    def _report(self, name: str, message: str) -> None:
        if self._reported.get(name) != message:
            self._reported[name] = message
            log.warning("%s", message)

