"""Greedy and advanced choice for one device from its stored results, with its live state.

The candidates' latencies are what they would be now (controller/selection/live.py), the
memory limit is what is free now, the budget what the upload leaves. Greedy stays the
prototype's rule (most accurate that fits memory): load never changes it, by design.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from controller.benchmarks.schema import BenchResult
from controller.experiment.status import DeviceStatus
from controller.selection.algorithm import DeviceSelection, Policy, select_device
from controller.selection.candidates import candidates_from
from controller.selection.live import expected, live_policy


@dataclass
class DevicePlan:
    status: DeviceStatus
    selection: DeviceSelection
    transfer_ms: float

    @property
    def device(self) -> str:
        return self.status.device

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "status": self.status.as_dict(),
                "transfer_ms": self.transfer_ms, "budget_ms_left": self.selection.policy.budget_ms,
                "selection": self.selection.as_dict()}


def plan_device(status: DeviceStatus, results: list[BenchResult], policy: Policy,
                request_bytes: int, variants: Collection[str] | None = None) -> DevicePlan:
    cands, notes = candidates_from(results, variants)
    now = expected(cands, status.live)
    transfer = status.live.transfer_ms(request_bytes)
    device_policy = live_policy(policy, status.live, request_bytes)
    sel = select_device(status.device, now, device_policy or policy)
    if device_policy is None:
        sel.advanced = None
        sel.reason = (f"uploading one image takes {transfer:.4g} ms at"
                      f" {status.live.downlink_mbps:g} Mbit/s: the whole {policy.budget_ms:g} ms"
                      " budget")
    sel.warnings = notes + sel.warnings
    for c in (sel.greedy, sel.advanced):
        if c is not None and c.input_size is None:
            sel.warnings.append(f"{c.label}: no input_size in its results: deployed at the"
                                " model card's")
    return DevicePlan(status, sel, transfer)
