"""What a lab made, written down as it is made, so `lab down` can undo exactly that."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil


@dataclass
class Proc:
    """A process the lab started; the start time guards against PID reuse when killing."""

    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> Proc:
        return cls(pid=pid, started=psutil.Process(pid).create_time())

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return (
                abs(proc.create_time() - self.started) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False


@dataclass
class HostState:
    name: str
    group: str
    arch: str
    address: str
    netns: str
    veth: str
    root: str
    proc: Proc | None = None


@dataclass
class LabState:
    bridge: str
    subnet: str
    bridge_address: str
    inventory: str
    arch_note: str | None = None
    hosts: list[HostState] = field(default_factory=list)
    services: dict[str, Proc] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Atomic write: a crash mid-write never leaves a state file `down` can't read."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LabState | None:
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        hosts = [
            HostState(**{**h, "proc": Proc(**h["proc"]) if h.get("proc") else None})
            for h in raw.pop("hosts", [])
        ]
        services = {k: Proc(**v) for k, v in raw.pop("services", {}).items()}
        return cls(**raw, hosts=hosts, services=services)
