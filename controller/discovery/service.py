"""What the server holds: the registry always, the browser only when discovery is enabled."""

from __future__ import annotations

from controller.config import Settings
from controller.discovery.browser import Browser
from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.store import Store


class DiscoveryService:
    def __init__(self, settings: Settings, store: Store,
                 discovery: DiscoverySettings | None = None) -> None:
        self.settings = discovery or DiscoverySettings.from_env()
        self.registry = Registry(store, settings.inventory, self.settings)
        self.browser = (Browser(self.registry, self.settings.interfaces, self.settings.refresh_s)
                        if self.settings.enabled else None)

    def start(self) -> None:
        if self.browser is not None:
            self.browser.start()

    def stop(self) -> None:
        if self.browser is not None:
            self.browser.stop()
