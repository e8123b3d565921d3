"""What the controller side of the bridge serves to lab hosts in place of the internet.

apt repository (HTTP), NTP (chrony) and iperf3, each bound to the bridge address only.
chronyd runs with `-x`: it serves time but never touches this machine's clock.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from controller.lab import aptrepo
from controller.lab.config import IPERF_PORT, LabConfig
from controller.lab.processes import spawn
from controller.lab.state import Proc

Record = Callable[[str, Proc], None]

# The lab NTP server: local clock, lab subnet only, never adjusts this machine.
_CHRONY_CONF = """
bindaddress {address}
allow {subnet}
local stratum 8
cmdport 0
pidfile {pidfile}
"""


def start_all(cfg: LabConfig, address: str, subnet: str, record: Record) -> None:
    """Start every service, handing each to `record` the moment it runs (so a failure in a
    later one still leaves the earlier ones known to `lab down`)."""
    svc = cfg.services_dir
    svc.mkdir(parents=True, exist_ok=True)
    repo = aptrepo.build_repo(svc / "apt")
    conf = svc / "chrony.conf"
    conf.write_text(
        _CHRONY_CONF.format(address=address, subnet=subnet, pidfile=svc / "chronyd.pid")
    )
    record("apt", spawn(
        [sys.executable, "-m", "http.server", str(cfg.apt_port), "--bind", address,
         "--directory", repo],
        svc / "apt.log",
    ))
    record("ntp", spawn(["chronyd", "-x", "-d", "-f", conf], svc / "chronyd.log"))
    record("iperf3", spawn(["iperf3", "-s", "-B", address, "-p", str(IPERF_PORT)],
                           svc / "iperf3.log"))


def apt_source_line(address: str, port: int) -> str:
    return f"deb [trusted=yes] http://{address}:{port}/ ./\n"
