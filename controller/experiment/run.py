"""Deploy a chosen model on a device and measure it there.

The image is the zoo model packaged at the input size and variant it was benchmarked with
(built and pushed when the registry lacks it); the deployment is deploy_model.yml through
the job manager with the pinned digest, like POST /api/deployments. The measurement posts
the fixed request set to the device's model service and keeps the service's own
`latency_ms.total` (decode + preprocess + forward + postprocess, timed on the device, so
the network is not in it): one warm-up, then the median over the images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import httpx

from controller.experiment.errors import DeployFailed, MeasureFailed
from controller.jobs.inventory import host_vars
from controller.jobs.manager import JobManager
from controller.registry_service import deployment, service
from controller.registry_service.model_package import TASK
from controller.registry_service.settings import RegistrySettings
from controller.selection.candidates import Candidate
from registry.verify import Resolution

DEFAULT_PORT = 8500
PREDICT_TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 10.0
PHASES = ("decode", "preprocess", "forward", "postprocess")
REGISTRY_HINT = ("the experiment builds and deploys model images: configure the controller's"
                 " registry (EDGEFLEET_REGISTRY_URL)")


def version_of(c: Candidate) -> str:
    """The image version of a configuration: one image per variant and input size."""
    return f"exp-{c.variant}" + (f"-{c.input_size}" if c.input_size else "")


def endpoints(manager: JobManager, hosts: list[str]) -> dict[str, str]:
    """Each host's model service URL: its inventory address and edgefleet_serving_port."""
    inventory = manager.settings.inventory
    if inventory is None:
        raise DeployFailed("no inventory configured (serve with --inventory)")
    found = host_vars(Path(inventory), ",".join(hosts), manager.settings.ansible_cfg)
    out = {}
    for host in hosts:
        v = found.get(host, {})
        port = int(v.get("edgefleet_serving_port", DEFAULT_PORT))
        out[host] = f"http://{v.get('ansible_host', host)}:{port}"
    return out


@dataclass(frozen=True)
class Measurement:
    median_ms: float
    p90_ms: float
    n: int
    phases_ms: dict[str, float]
    warmup_ms: float
    image: str
    deploy_job: str | None  # None: the device already served this image

    def as_dict(self) -> dict[str, Any]:
        return {"median_ms": self.median_ms, "p90_ms": self.p90_ms, "n": self.n,
                "phases_ms": self.phases_ms, "warmup_ms": self.warmup_ms, "image": self.image,
                "deploy_job": self.deploy_job}


class Runner:
    def __init__(self, manager: JobManager, registry: RegistrySettings, http: httpx.Client,
                 progress: Callable[[str], None], requested_by: str,
                 deploy_timeout_s: int = 900) -> None:
        self.manager, self.registry, self.http = manager, registry, http
        self.progress, self.requested_by = progress, requested_by
        self.deploy_timeout_s = deploy_timeout_s

    def image(self, arch: str, c: Candidate) -> tuple[Resolution, bool]:
        """The verified image for `c` on `arch`, built first when missing; and whether the
        registry is plain HTTP."""
        version = version_of(c)
        with self.registry.client(REGISTRY_HINT) as client:
            insecure = client.base.startswith("http://")
            result = service.verify(client, arch, TASK, c.model, version)
            if result.found is None:
                self.progress(f"building {c.model}:{version} for {arch}")
                service.build(client, arch=arch, task=TASK, model=c.model, version=version,
                              weights=None, base=self.registry.base, variant=c.variant,
                              input_size=c.input_size)
                result = service.verify(client, arch, TASK, c.model, version)
        return deployment.require_image(result), insecure

    def serving(self, url: str) -> dict[str, Any] | None:
        """The device service's /healthz, or None when nothing serves there."""
        try:
            res = self.http.get(f"{url}/healthz", timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError:
            return None
        return res.json() if res.status_code == 200 else None

    @staticmethod
    def serves(health: dict[str, Any] | None, c: Candidate) -> bool:
        if health is None:
            return False
        want = (c.model, version_of(c), c.variant)
        same = (health.get("model"), health.get("version"), health.get("variant")) == want
        return same and (c.input_size is None or health.get("input_size") == c.input_size)

    def deploy(self, host: str, url: str, arch: str, c: Candidate) -> tuple[str, str | None]:
        """(pinned image, deploy job id or None when the device already serves it)."""
        found, insecure = self.image(arch, c)
        if self.serves(self.serving(url), c):
            return found.pinned, None
        self.progress(f"{host}: deploying {c.label}")
        job = self.manager.submit(deployment.PLAYBOOK, limit=host,
                                  extra_vars=deployment.deploy_vars(found, insecure=insecure),
                                  timeout_s=self.deploy_timeout_s,
                                  requested_by=self.requested_by)
        done = self.manager.wait(job["id"], timeout=self.deploy_timeout_s + 60)
        if done["status"] != "successful":
            msgs = "; ".join(h["msg"] or h["status"] for h in done.get("hosts", []))
            raise DeployFailed(f"{host}: deploying {c.label} ({job['id']}) {done['status']}:"
                               f" {msgs or done.get('error')}")
        health = self.serving(url)
        if not self.serves(health, c):
            raise DeployFailed(f"{host}: after deploying {c.label} the service at {url} says"
                               f" {health}")
        return found.pinned, job["id"]

    def measure(self, host: str, url: str, images: list[bytes]) -> tuple[float, list[dict]]:
        """(warm-up ms, each image's latency_ms) as the device's service timed them."""
        out = []
        for i, body in enumerate([images[0], *images]):
            try:
                res = self.http.post(f"{url}/predict", content=body, timeout=PREDICT_TIMEOUT_S,
                                     headers={"Content-Type": "image/jpeg"})
            except httpx.HTTPError as exc:
                raise MeasureFailed(f"{host}: {url}/predict: {exc}") from None
            if res.status_code != 200:
                raise MeasureFailed(f"{host}: {url}/predict answered {res.status_code}:"
                                    f" {res.text[:200]}")
            out.append(res.json()["latency_ms"])
            if i:
                self.progress(f"{host}: image {i}/{len(images)}")
        return out[0]["total"], out[1:]

    def run(self, host: str, url: str, arch: str, c: Candidate,
            images: list[bytes]) -> Measurement:
        pinned, job = self.deploy(host, url, arch, c)
        self.progress(f"{host}: measuring {c.label} over {len(images)} images")
        warmup, rows = self.measure(host, url, images)
        totals = [r["total"] for r in rows]
        p90 = quantiles(totals, n=10, method="inclusive")[-1] if len(totals) > 1 else totals[0]
        return Measurement(
            median_ms=median(totals), p90_ms=p90, n=len(totals),
            phases_ms={k: median(r[k] for r in rows) for k in PHASES if all(k in r for r in rows)},
            warmup_ms=warmup, image=pinned, deploy_job=job)
