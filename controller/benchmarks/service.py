"""Run `playbooks/bench.yml` as a job and store each host's results when the job finishes.

bench.yml runs the harness inside the runtime image (RUNTIME_REF), so a job pins that
image's index digest from the controller's own registry: a caller cannot pick the image.
The job runs through the ordinary JobManager (same locking, events, timeouts, host view);
a watcher thread waits for it, then reads each host's `edgefleet_result` ({"results": [...]})
from the job record -- or from the fact cache when the record had to drop a big one -- and
stores it with the host's carbon zone from the inventory. A job whose watcher died with the
server can be collected again by id (idempotent).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import InvalidResults, parse_results
from controller.carbon.service import check_zone
from controller.errors import ControllerError
from controller.images.runtime import RUNTIME_REF
from controller.jobs.errors import InvalidRequest, JobConflict
from controller.jobs.inventory import host_vars
from controller.jobs.manager import ACTIVE, JobManager
from controller.jobs.playbooks import resolve
from controller.selection import Policy, select_fleet
from controller.store import Job
from registry.client import RegistryClient
from registry.errors import NotFound

log = logging.getLogger("edgefleet.benchmarks")
PLAYBOOK = "bench"
ZONE_VAR = "edgefleet_carbon_zone"
# Filled from the controller's registry, never from the request.
IMAGE_VARS = ("edgefleet_bench_image", "edgefleet_bench_digest", "edgefleet_bench_insecure")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class NoResults(ControllerError):
    http_status = 404


def runtime_vars(client: RegistryClient, ref: str = RUNTIME_REF) -> dict[str, Any]:
    """bench.yml's image vars: RUNTIME_REF pinned to its index digest (each device's engine
    picks its own platform from the index)."""
    repo, _, tag = ref.rpartition(":")
    try:
        digest = client.get_manifest(repo, tag).digest
    except NotFound as exc:
        raise NotFound(f"{ref} is not in registry {client.host} ({exc}): push it with "
                       "`edgefleet registry runtime --arch amd64 --arch arm64`") from None
    return {"edgefleet_bench_image": f"{client.host}/{repo}", "edgefleet_bench_digest": digest,
            "edgefleet_bench_insecure": client.base.startswith("http://")}


class BenchmarkService:
    def __init__(self, manager: JobManager, repository: BenchmarkRepository) -> None:
        self.manager, self.repository = manager, repository

    def run(
        self,
        *,
        limit: str | None,
        extra_vars: dict[str, Any] | None,
        timeout_s: int | None,
        requested_by: str,
        runtime: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """Check the request, then pin the runtime image (`runtime()` asks the registry),
        then start the job: a refused request contacts no registry and starts nothing."""
        given = sorted(set(extra_vars or {}) & set(IMAGE_VARS))
        if given:
            raise InvalidRequest(f"extra var {given[0]} is set by the controller from its "
                                 "registry, not by the request")
        resolve(self.manager.settings.playbook_dir, PLAYBOOK)
        job = self.manager.submit(
            PLAYBOOK,
            limit=limit,
            extra_vars={**(extra_vars or {}), **runtime()},
            timeout_s=timeout_s,
            requested_by=requested_by,
        )
        threading.Thread(
            target=self._collect_when_done, args=(job["id"],), daemon=True,
            name=f"bench-collect-{job['id']}",
        ).start()
        return job

    def _collect_when_done(self, job_id: str) -> None:
        self.manager.wait(job_id)
        try:
            summary = self.collect(job_id)
            log.info("benchmark job %s: stored %d result(s)", job_id, summary["stored"])
        except Exception:  # noqa: BLE001 - a watcher thread must report, never die silently
            log.exception("benchmark job %s: results could not be stored", job_id)

    def collect(self, job_id: str) -> dict[str, Any]:
        """Store a finished bench job's per-host results; per-host problems are reported."""
        job = self.manager.get(job_id)
        if job["playbook"] != PLAYBOOK:
            raise InvalidRequest(f"job {job_id} ran {job['playbook']!r}, not {PLAYBOOK!r}")
        if job["status"] in ACTIVE:
            raise JobConflict(f"job {job_id} is still {job['status']}")
        zones = self._zones(job_id, [h["host"] for h in job["hosts"]])
        stored, devices, problems = 0, [], {}
        for h in job["hosts"]:
            result = h.get("result") or self._cached_result(h["host"], job) or {}
            if h["status"] not in ("ok", "changed") or "results" not in result:
                problems[h["host"]] = h.get("msg") or f"no results ({h['status']})"
                continue
            try:
                results = parse_results(result["results"], f"{h['host']} results")
            except InvalidResults as exc:
                problems[h["host"]] = str(exc)
                continue
            rows = self.repository.add(h["host"], results, zones.get(h["host"]), job_id)
            stored += len(rows)
            devices.append(h["host"])
        return {"job_id": job_id, "stored": stored, "devices": devices, "problems": problems}

    def upload(self, device: str, items: list[Any], zone: str | None) -> dict[str, Any]:
        """Store results measured outside a job; a bad row refuses the whole upload."""
        if zone is not None:
            check_zone(zone)
        rows = self.repository.add(device, parse_results(items, "results"), zone)
        return {"device": device, "stored": len(rows)}

    def _cached_result(self, host: str, job: dict[str, Any]) -> dict[str, Any] | None:
        """The host's `edgefleet_result` from Ansible's JSON fact cache (bench.yml caches it).

        The job record caps a result at 32 KB and drops bigger ones (many models x variants
        exceed that); the cache file holds it whole. Only a file written during this job
        counts, never an older run's.
        """
        path = self.manager.settings.fact_cache_dir / host
        started = job.get("started_at")
        try:
            fresh = started is not None and path.stat().st_mtime >= _epoch(started)
            facts = json.loads(path.read_text()) if fresh else None
        except (OSError, ValueError):
            return None
        found = facts.get("edgefleet_result") if isinstance(facts, dict) else None
        return found if isinstance(found, dict) else None

    def _zones(self, job_id: str, hosts: list[str]) -> dict[str, str]:
        with self.manager.store.session() as s:
            job = s.get(Job, job_id)
            inventory = Path(job.inventory) if job else None
        if not hosts or inventory is None or not inventory.exists():
            return {}
        hv = host_vars(inventory, ",".join(hosts), self.manager.settings.ansible_cfg)
        return {h: str(v[ZONE_VAR]) for h, v in hv.items() if v.get(ZONE_VAR)}

    def select(
        self, policy: Policy, device: str | None = None, variants: list[str] | None = None
    ) -> dict[str, Any]:
        results = self.repository.by_device(device)
        if not results:
            where = f"device {device!r}" if device else "any device"
            raise NoResults(f"no benchmark results stored for {where}")
        return select_fleet(results, policy, variants=variants)
