"""The experiment's lifecycle: check, run in the background, keep the record.

Start checks what can fail at once (policy, hosts, stored results, fresh telemetry, a
registry) and answers 4xx/503 before anything is deployed. The run, on its own thread:
phase `normal` (plan every device from its status first, then deploy + measure each; plans
come first so one device's measurement is not another's background load), then, with a
load device, phase `load`: load.yml starts the burner there, the status has time to show
it, every device is planned and measured again, and the burner is stopped whatever
happened. One experiment at a time. Each record is a JSON file under
EDGEFLEET_HOME/experiments, rewritten as the run goes (a restart marks a running one failed).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import BenchResult
from controller.benchmarks.service import NoResults
from controller.errors import ControllerError
from controller.experiment import report
from controller.experiment.errors import (
    DeviceUnknown,
    ExperimentBusy,
    ExperimentNotFound,
    LoadFailed,
)
from controller.experiment.images import request_images
from controller.experiment.plan import DevicePlan, plan_device
from controller.experiment.run import REGISTRY_HINT, Measurement, Runner, endpoints
from controller.experiment.status import read_status
from controller.jobs.inventory import resolve_targets
from controller.jobs.manager import JobManager
from controller.registry_service.settings import RegistrySettings
from controller.selection.algorithm import Mode, Objective, Policy
from controller.selection.candidates import Candidate
from controller.telemetry.service import TelemetryService
from registry.errors import NotConfigured

log = logging.getLogger("edgefleet.experiment")
LOAD_PLAYBOOK = "load"
LOAD_SETTLE_S = 45.0  # the 1-minute load average needs this long to show most of the load
LOAD_BUSY = 0.9
LOAD_WAIT_S = 60.0
POLL_S = 2.0
PROGRESS_KEPT = 40
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class ExperimentSpec:
    budget_ms: float
    max_acc_drop: float
    mode: Mode = "relative"
    objective: Objective = "latency"
    limit: str | None = None
    images: int = 10
    variants: tuple[str, ...] | None = None
    load_device: str | None = None
    load_workers: int | None = None  # default: 4 per core of the load device
    load_seconds: int = 900

    def policy(self) -> Policy:
        return Policy(self.budget_ms, self.max_acc_drop, self.mode, self.objective)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class ExperimentService:
    def __init__(self, manager: JobManager, telemetry: TelemetryService,
                 benchmarks: BenchmarkRepository, registry: RegistrySettings,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.manager, self.telemetry, self.benchmarks = manager, telemetry, benchmarks
        self.registry, self.clock, self.sleep = registry, clock, sleep
        self.dir = manager.settings.home / "experiments"
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self._close_orphans()

    # ---- records -----------------------------------------------------------------------
    def _path(self, exp_id: str) -> Path:
        return self.dir / f"{exp_id}.json"

    def _save(self, record: dict[str, Any]) -> None:
        """Atomically: a reader never sees half a record."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self._path(record["id"]).with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._path(record["id"]))

    def _update(self, exp_id: str, **changes: Any) -> None:
        with self._lock:
            record = self._records[exp_id]
            record.update(changes)
            self._save(record)

    def _close_orphans(self) -> None:
        """A record left running by a process that is gone can never finish."""
        for record in self._stored():
            if record["status"] in ACTIVE:
                record.update(status="failed", finished_at=_iso(self.clock()),
                              error="the controller stopped before the experiment finished")
                self._save(record)

    def _stored(self) -> list[dict[str, Any]]:
        out = []
        for path in self.dir.glob("*.json") if self.dir.exists() else []:
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a foreign or damaged file is not an experiment
        return out

    def get(self, exp_id: str) -> dict[str, Any]:
        with self._lock:
            if exp_id in self._records:
                return json.loads(json.dumps(self._records[exp_id]))
        path = self._path(exp_id)
        if not exp_id.isalnum() or not path.exists():
            raise ExperimentNotFound(f"experiment {exp_id} not found")
        return json.loads(path.read_text())

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            for record in self._stored():
                self._records.setdefault(record["id"], record)
            records = sorted(self._records.values(), key=lambda r: r["created_at"], reverse=True)
            return json.loads(json.dumps(records[:limit]))

    # ---- start -------------------------------------------------------------------------
    def start(self, spec: ExperimentSpec, requested_by: str) -> dict[str, Any]:
        """Check everything that can be checked now, then run in the background."""
        spec.policy()  # InvalidPolicy (422) before anything else
        inventory = self.manager.settings.inventory
        if inventory is None:
            raise DeviceUnknown("no inventory configured (serve with --inventory)")
        hosts = [t.name for t in resolve_targets(Path(inventory), spec.limit,
                                                 self.manager.settings.ansible_cfg)]
        if spec.load_device is not None and spec.load_device not in hosts:
            raise DeviceUnknown(f"load device {spec.load_device!r} is not one of the hosts"
                                f" the experiment runs on ({', '.join(hosts)})")
        stored = self.benchmarks.by_device()
        if missing := [h for h in hosts if h not in stored]:
            raise NoResults(f"no benchmark results stored for {', '.join(missing)}:"
                            " run a benchmark job (POST /api/benchmarks/run) first")
        for host in hosts:
            read_status(self.telemetry, host)  # NoTelemetry now rather than mid-run
        if not self.registry.url:
            raise NotConfigured(f"no registry URL: {REGISTRY_HINT}")
        images = request_images(spec.images)
        with self._lock:
            if busy := [r["id"] for r in self._records.values() if r["status"] in ACTIVE]:
                raise ExperimentBusy(f"experiment {busy[0]} is still running")
            exp_id = uuid.uuid4().hex[:12]
            record = self._records[exp_id] = {
                "id": exp_id, "status": "running", "created_at": _iso(self.clock()),
                "finished_at": None, "requested_by": requested_by,
                "request": {**asdict(spec), "hosts": hosts}, "step": "starting",
                "progress": [], "phases": [], "adaptation": None, "error": None,
            }
            self._save(record)
        threading.Thread(target=self._run, args=(exp_id, spec, hosts, stored, images),
                         daemon=True, name=f"experiment-{exp_id}").start()
        return self.get(exp_id)

    # ---- run ---------------------------------------------------------------------------
    def _progress(self, exp_id: str, line: str) -> None:
        with self._lock:
            record = self._records[exp_id]
            record["step"] = line
            record["progress"] = [*record["progress"], line][-PROGRESS_KEPT:]
            self._save(record)

    def _run(self, exp_id: str, spec: ExperimentSpec, hosts: list[str],
             stored: dict[str, list[BenchResult]], images: list[bytes]) -> None:
        def say(line: str) -> None:
            self._progress(exp_id, line)

        try:
            with httpx.Client() as http:
                runner = Runner(self.manager, self.registry, http, say, f"experiment:{exp_id}")
                urls = endpoints(self.manager, hosts)
                normal = self._phase(exp_id, "normal", spec, hosts, stored, images, runner,
                                     urls, None)
                if spec.load_device is not None:
                    loaded = self._loaded_phase(exp_id, spec, hosts, stored, images, runner,
                                                urls)
                    self._update(exp_id, adaptation=report.adaptation(
                        normal["rows"], loaded["rows"], spec.load_device))
            self._update(exp_id, status="succeeded", finished_at=_iso(self.clock()),
                         step="done")
        except Exception as exc:  # noqa: BLE001 - the record must say why, never hang running
            if not isinstance(exc, ControllerError):
                log.exception("experiment %s failed", exp_id)
            self._update(exp_id, status="failed", finished_at=_iso(self.clock()),
                         error=str(exc) or type(exc).__name__)

    def _phase(self, exp_id: str, name: str, spec: ExperimentSpec, hosts: list[str],
               stored: dict[str, list[BenchResult]], images: list[bytes], runner: Runner,
               urls: dict[str, str], load: dict[str, Any] | None) -> dict[str, Any]:
        policy = spec.policy()
        request_bytes = round(sum(map(len, images)) / len(images))
        plans = [plan_device(read_status(self.telemetry, h), stored[h], policy, request_bytes,
                             spec.variants) for h in hosts]
        phase: dict[str, Any] = {"name": name, "load": load, "rows": [], "summary": None}
        with self._lock:
            self._records[exp_id]["phases"].append(phase)
        for plan in plans:
            self._progress(exp_id, f"{name}: {plan.device}")
            phase["rows"].append(self._device_row(plan, runner, urls[plan.device], images))
            phase["summary"] = report.summary(phase["rows"], policy)
            self._update(exp_id)
        return phase

    def _device_row(self, plan: DevicePlan, runner: Runner, url: str,
                    images: list[bytes]) -> dict[str, Any]:
        """Measure both choices (once when they are the same configuration), the one the
        device serves already first."""
        sel, arch = plan.selection, plan.status.arch or ""
        chosen = [c for c in (sel.greedy, sel.advanced) if c is not None]
        unique = list(dict.fromkeys(chosen))
        if unique and not runner.serves(runner.serving(url), unique[0]):
            unique.reverse()
        measured: dict[Candidate, Measurement] = {}
        try:
            for c in unique:
                measured[c] = runner.run(plan.device, url, arch, c, images)
        except ControllerError as exc:
            return report.row(plan, None, None, str(exc))
        return report.row(plan, measured.get(sel.greedy), measured.get(sel.advanced))

    def _loaded_phase(self, exp_id: str, spec: ExperimentSpec, hosts: list[str],
                      stored: dict[str, list[BenchResult]], images: list[bytes],
                      runner: Runner, urls: dict[str, str]) -> dict[str, Any]:
        device = spec.load_device
        assert device is not None
        cores = read_status(self.telemetry, device).live.cores or 1
        workers = spec.load_workers or 4 * cores
        self._progress(exp_id, f"load: starting {workers} busy workers on {device}")
        job = self._load(device, {"edgefleet_load_state": "started",
                                  "edgefleet_load_workers": workers,
                                  "edgefleet_load_seconds": spec.load_seconds}, exp_id)
        try:
            self._settle(exp_id, device)
            load = {"device": device, "workers": workers, "seconds": spec.load_seconds,
                    "job_id": job}
            return self._phase(exp_id, "load", spec, hosts, stored, images, runner, urls, load)
        finally:
            self._progress(exp_id, f"load: stopping it on {device}")
            self._load(device, {"edgefleet_load_state": "stopped"}, exp_id)

    def _load(self, device: str, extra: dict[str, Any], exp_id: str) -> str:
        job = self.manager.submit(LOAD_PLAYBOOK, limit=device, extra_vars=extra, timeout_s=300,
                                  requested_by=f"experiment:{exp_id}")
        done = self.manager.wait(job["id"], timeout=360)
        if done["status"] != "successful":
            msgs = "; ".join(h["msg"] or h["status"] for h in done.get("hosts", []))
            raise LoadFailed(f"load.yml on {device} ({job['id']}) {done['status']}: "
                             f"{msgs or done.get('error')}")
        return job["id"]

    def _settle(self, exp_id: str, device: str) -> None:
        """Give the telemetry time to show the load: LOAD_SETTLE_S, then until the CPU reads
        busy (bounded by LOAD_WAIT_S more)."""
        self._progress(exp_id, f"load: waiting {LOAD_SETTLE_S:g} s for {device}'s telemetry")
        self.sleep(LOAD_SETTLE_S)
        deadline = self.clock() + LOAD_WAIT_S
        while (read_status(self.telemetry, device).live.cpu_busy or 0.0) < LOAD_BUSY:
            if self.clock() >= deadline:
                self._progress(exp_id, f"load: {device} never read {LOAD_BUSY:.0%} busy;"
                                       " measuring anyway")
                return
            self.sleep(POLL_S)
