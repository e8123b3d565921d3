"""Application factory: one store and one job manager per server process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from controller import __version__
from controller.api import errors, hosts, jobs
from controller.api.auth import require_token
from controller.api.devices import router as devices_router
from controller.api.discovery import admin_router as discovery_router
from controller.api.discovery import claim_router as discovery_claim_router
from controller.api.registry import router as registry_router
from controller.api.telemetry import router as telemetry_router
from controller.config import Settings
from controller.discovery.service import DiscoveryService
from controller.jobs.manager import JobManager
from controller.store import Store
from controller.telemetry.service import TelemetryService

log = logging.getLogger("edgefleet.controller")


def create_app(settings: Settings | None = None, api_token: str | None = None) -> FastAPI:
    """The API app; on start it closes orphaned jobs, on stop it cancels its own running ones."""
    settings = settings or Settings.from_env()
    store = Store(settings.db_url)
    manager = JobManager(settings, store)
    telemetry = TelemetryService(settings.telemetry, store)
    discovery = DiscoveryService(settings, store)  # browses only with EDGEFLEET_DISCOVERY=1

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if orphans := manager.reconcile_orphans():
            log.warning("marked %d orphaned job(s) failed: %s", len(orphans), ", ".join(orphans))
        await telemetry.start()
        discovery.start()
        yield
        discovery.stop()
        await telemetry.stop()
        manager.shutdown()
        store.dispose()

    app = FastAPI(title="edgefleet controller", version=__version__, lifespan=lifespan)
    app.state.settings, app.state.store, app.state.manager = settings, store, manager
    app.state.api_token = api_token
    app.state.telemetry = telemetry
    app.state.discovery = discovery
    errors.install(app)
    guarded = [Depends(require_token)]
    app.include_router(jobs.router, dependencies=guarded)
    app.include_router(hosts.router, dependencies=guarded)
    app.include_router(devices_router, dependencies=guarded)
    app.include_router(registry_router, dependencies=guarded)
    # Agents authenticate with their own device token, checked by the telemetry service.
    app.include_router(telemetry_router)
    app.include_router(discovery_router, dependencies=guarded)
    # A device enrolling has no token yet: its claim secret is checked by the registry.
    app.include_router(discovery_claim_router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
