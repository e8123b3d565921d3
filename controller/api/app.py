"""Application factory: one store and one job manager per server process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from controller import __version__
from controller.api import errors, experiment, hosts, inventory, jobs, openapi
from controller.api.auth import ApiTokens, require_token
from controller.api.auth import router as auth_router
from controller.api.benchmarks import router as benchmarks_router
from controller.api.devices import router as devices_router
from controller.api.discovery import admin_router as discovery_router
from controller.api.discovery import claim_router as discovery_claim_router
from controller.api.hostguard import LOOPBACK_NAMES, HostGuard
from controller.api.registry import router as registry_router
from controller.api.schemas import Health
from controller.api.telemetry import router as telemetry_router
from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.service import BenchmarkService
from controller.carbon import CarbonIntensity
from controller.config import Settings
from controller.dashboard import install as install_dashboard
from controller.discovery.service import DiscoveryService
from controller.jobs.manager import JobManager
from controller.prometheus import file_sd, targets
from controller.registry_service.settings import RegistrySettings
from controller.store import Store
from controller.telemetry.service import TelemetryService

log = logging.getLogger("edgefleet.controller")


def create_app(settings: Settings | None = None, api_token: str | None = None,
               read_token: str | None = None, carbon: CarbonIntensity | None = None,
               registry: RegistrySettings | None = None,
               allowed_hosts: frozenset[str] = LOOPBACK_NAMES) -> FastAPI:
    """The API app and the dashboard; `api_token` may operate, `read_token` only read;
    `carbon` replaces the Electricity Maps client (tests pin its clock); `registry` is the
    model registry it serves (default EDGEFLEET_REGISTRY_*); `allowed_hosts` the names clients
    reach it by (Host and Origin are checked against them: DNS rebinding).

    On start it closes orphaned jobs, on stop it cancels its own running ones."""
    tokens = ApiTokens(api_token, read_token)  # a bad combination fails before anything opens
    settings = settings or Settings.from_env()
    store = Store(settings.db_url)
    manager = JobManager(settings, store)
    telemetry = TelemetryService(settings.telemetry, store)
    discovery = DiscoveryService(settings, store)  # browses only with EDGEFLEET_DISCOVERY=1
    prometheus_sd = _prometheus_sd(settings, store)  # only with EDGEFLEET_PROMETHEUS_SD_FILE
    # Electricity Maps token from EDGEFLEET_ELECTRICITYMAPS_TOKEN
    carbon = carbon or CarbonIntensity()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if orphans := manager.reconcile_orphans():
            log.warning("marked %d orphaned job(s) failed: %s", len(orphans), ", ".join(orphans))
        await telemetry.start()
        discovery.start()
        if prometheus_sd is not None:
            prometheus_sd.start()
        yield
        if prometheus_sd is not None:
            prometheus_sd.stop()
        discovery.stop()
        await telemetry.stop()
        manager.shutdown()
        carbon.close()
        store.dispose()

    # No /docs or /redoc: FastAPI's pages load their scripts from a public CDN, outside the
    # dashboard's CSP; /openapi.json is the contract, for any local viewer.
    app = FastAPI(title="edgefleet controller", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings, app.state.store, app.state.manager = settings, store, manager
    app.state.api_tokens = tokens
    app.state.telemetry = telemetry
    app.state.registry_settings = registry or RegistrySettings.from_env()
    app.state.discovery = discovery
    app.state.benchmarks = BenchmarkService(manager, BenchmarkRepository(store, carbon))
    errors.install(app)
    openapi.install(app)
    app.add_middleware(HostGuard, allowed=allowed_hosts)
    guarded = [Depends(require_token)]
    app.include_router(auth_router, dependencies=guarded)
    app.include_router(jobs.router, dependencies=guarded)
    app.include_router(inventory.router, dependencies=guarded)
    app.include_router(hosts.router, dependencies=guarded)
    app.include_router(devices_router, dependencies=guarded)
    app.include_router(benchmarks_router, dependencies=guarded)
    app.include_router(registry_router, dependencies=guarded)
    experiment.install(app, guarded)
    # Agents authenticate with their own device token, checked by the telemetry service.
    app.include_router(telemetry_router)
    # A device enrolling has no token yet: its claim secret is checked by the registry.
    # Before the admin router: its /{device_id} would capture /claim for the other methods
    # (OPTIONS /api/discovery/claim answered 405 with `Allow: GET`).
    app.include_router(discovery_claim_router)
    app.include_router(discovery_router, dependencies=guarded)

    # Pages hold no data and no secret: their scripts call the API above with the user's token.
    install_dashboard(app)

    @app.get("/healthz", response_model=None,
             responses={200: {"model": Health, "description": "Serving."}})
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


def _prometheus_sd(settings: Settings, store: Store) -> file_sd.SdWriter | None:
    sd = file_sd.SdSettings.from_env()
    if sd.path is None:
        return None
    return file_sd.SdWriter(
        sd.path,
        lambda: targets.collect(settings.inventory, store, settings.ansible_cfg, sd.metrics_port),
        sd.interval_s,
    )
