#!/usr/bin/python
"""edgefleet_health: one-shot health snapshot of an edge device as structured data.

Everything is read from sysfs/procfs or from tools run with machine-readable output; a
missing sensor or tool yields null/empty, never a failure. The parsing/decoding functions
are pure so unit tests can feed them captured device output.
"""

import contextlib
import glob
import json
import os
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edgefleet_health
short_description: Snapshot temperatures, CPU, memory, disks, GPU and network throughput
description:
  - Reads thermal zones and hwmon sensors (milli-degC), C(vcgencmd) on Raspberry Pi,
    /proc for CPU/memory, statvfs for disks and C(nvidia-smi) CSV for GPUs.
  - With C(sections=[network]) measures up/down throughput with C(iperf3 -J) against a server.
options:
  sections:
    description: Which parts to collect.
    type: list
    elements: str
    default: [temperature, cpu, memory, disk, gpu]
  sysfs_root:
    description: Root of sysfs (tests point this at a captured tree).
    type: path
    default: /sys
  proc_root:
    description: Root of procfs (tests point this at captured files).
    type: path
    default: /proc
  vcgencmd:
    description: vcgencmd command name or path.
    type: str
    default: vcgencmd
  nvidia_smi:
    description: nvidia-smi command name or path.
    type: str
    default: nvidia-smi
  iperf3:
    description: iperf3 command name or path.
    type: str
    default: iperf3
  speedtest_server:
    description: iperf3 server address (required for the network section).
    type: str
  speedtest_port:
    type: int
    default: 5201
  speedtest_seconds:
    description: Test duration per direction.
    type: int
    default: 1
  busy_retries:
    description: Retries when the single-test iperf3 server reports it is busy.
    type: int
    default: 5
  busy_delay:
    description: Seconds between busy retries.
    type: float
    default: 2.0
"""

RETURN = r"""
health:
  description: Collected sections (temperature, cpu, memory, disk, gpu, network, tools).
  type: dict
  returned: always
"""


# Filesystems that are not storage the device can fill: kernel views, RAM-backed, read-only
# images (snaps), and network mounts (statvfs on a dead NFS server blocks forever).
SKIP_FS = frozenset(
    (
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "tmpfs",
        "ramfs",
        "cgroup",
        "cgroup2",
        "pstore",
        "securityfs",
        "debugfs",
        "tracefs",
        "configfs",
        "fusectl",
        "mqueue",
        "hugetlbfs",
        "bpf",
        "binfmt_misc",
        "autofs",
        "rpc_pipefs",
        "nsfs",
        "efivarfs",
        "selinuxfs",
        "squashfs",
        "nfsd",
        "nfs",
        "nfs4",
        "cifs",
        "smbfs",
        "smb3",
        "ceph",
        "glusterfs",
        "9p",
    )
)

# `vcgencmd get_throttled` bits: 0-3 are the current state, 16-19 "has occurred since boot".
THROTTLE_BITS = (
    ("under_voltage", 0),
    ("frequency_capped", 1),
    ("throttled", 2),
    ("soft_temp_limit", 3),
    ("under_voltage_since_boot", 16),
    ("frequency_capped_since_boot", 17),
    ("throttled_since_boot", 18),
    ("soft_temp_limit_since_boot", 19),
)

NVIDIA_VENDOR = "0x10de"


# ---------------------------------------------------------------- pure decoders


def milli_to_celsius(text):
    """sysfs temperatures are integer milli-degC ("48686\\n" -> 48.686); None if unreadable."""
    try:
        return round(int(str(text).strip()) / 1000.0, 3)
    except (TypeError, ValueError):
        return None


def parse_kv_output(text):
    """`key=value` output of vcgencmd (e.g. "temp=48.3'C") -> (key, value) or (None, None)."""
    line = (text or "").strip().splitlines()
    if not line or "=" not in line[0]:
        return None, None
    key, _, value = line[0].partition("=")
    return key.strip(), value.strip()


def parse_vcgencmd_temp(text):
    """ "temp=48.3'C" -> 48.3."""
    key, value = parse_kv_output(text)
    if key != "temp" or not value:
        return None
    try:
        return float(value.rstrip("C").rstrip("'"))
    except ValueError:
        return None


def decode_throttled(text):
    """ "throttled=0x50005" (or a bare hex/int string) -> raw mask + decoded booleans."""
    key, value = parse_kv_output(text)
    if key is None:
        value = (text or "").strip()
    elif key != "throttled":
        return None
    try:
        mask = int(value, 0)
    except (TypeError, ValueError):
        return None
    out = {"raw": hex(mask)}
    for name, bit in THROTTLE_BITS:
        out[name] = bool(mask & (1 << bit))
    return out


def parse_cpuinfo(text):
    """/proc/cpuinfo -> (model, processor count, mean 'cpu MHz' or None).

    x86 has `model name`; Raspberry Pi kernels put the board in `Model` and have no
    `model name`; other arm64 SoCs may only have `Hardware`/`CPU part`.
    """
    model = board = hardware = None
    count = 0
    mhz = []
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "processor":
            count += 1
        elif key == "model name" and model is None:
            model = value
        elif key == "Model" and board is None:
            board = value
        elif key == "Hardware" and hardware is None:
            hardware = value
        elif key == "cpu MHz":
            with contextlib.suppress(ValueError):
                mhz.append(float(value))
    freq = round(sum(mhz) / len(mhz), 1) if mhz else None
    return model or board or hardware, count or None, freq


def parse_loadavg(text):
    """/proc/loadavg -> [1m, 5m, 15m]."""
    try:
        return [float(x) for x in (text or "").split()[:3]] or None
    except ValueError:
        return None


def parse_meminfo(text):
    """/proc/meminfo (kB) -> memory section in MiB ("MB" = binary, like `free -m`)."""
    kb = {}
    for line in (text or "").splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if sep and parts:
            try:
                kb[key.strip()] = int(parts[0])
            except ValueError:
                continue
    total = kb.get("MemTotal")
    if not total:
        return None
    available = kb.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = kb.get("MemFree", 0) + kb.get("Buffers", 0) + kb.get("Cached", 0)
    swap_total = kb.get("SwapTotal", 0)
    swap_free = kb.get("SwapFree", 0)
    return {
        "total_mb": round(total / 1024.0, 1),
        "available_mb": round(available / 1024.0, 1),
        "used_pct": round(100.0 * (total - available) / total, 1),
        "swap_total_mb": round(swap_total / 1024.0, 1),
        "swap_used_mb": round((swap_total - swap_free) / 1024.0, 1),
    }


def _unescape_mount(path):
    """/proc/mounts escapes space, tab, newline and backslash as octal."""
    for esc, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(esc, char)
    return path


def parse_mounts(text):
    """/proc/self/mounts -> [(mountpoint, fstype)] of real (storage) filesystems."""
    out = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        fstype = fields[2]
        if fstype in SKIP_FS or fstype.startswith("fuse."):
            continue
        out.append((_unescape_mount(fields[1]), fstype))
    return out


def disk_usage(mount, statvfs):
    """statvfs result -> disk entry in GiB ("GB" = binary, like `df -h`); None if empty."""
    total = statvfs.f_blocks * statvfs.f_frsize
    if total <= 0:
        return None
    free = statvfs.f_bfree * statvfs.f_frsize
    avail = statvfs.f_bavail * statvfs.f_frsize
    used = total - free
    # Same as df: used / (used + available to unprivileged users).
    denom = used + avail
    return {
        "mount": mount,
        "total_gb": round(total / 1024.0**3, 2),
        "used_gb": round(used / 1024.0**3, 2),
        "used_pct": round(100.0 * used / denom, 1) if denom else 0.0,
    }


def _num(value, cast=float):
    """nvidia-smi prints "[N/A]" / "[Not Supported]" for unavailable values."""
    value = (value or "").strip()
    if not value or value.startswith("["):
        return None
    try:
        return cast(value)
    except ValueError:
        return None


def parse_nvidia_smi_csv(text):
    """`--query-gpu=name,driver_version,memory.total,temperature.gpu
    --format=csv,noheader,nounits` -> list of devices."""
    devices = []
    for index, line in enumerate((text or "").splitlines()):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            continue
        devices.append(
            {
                "index": index,
                "name": fields[0],
                "driver_version": fields[1] or None,
                "memory_total_mb": _num(fields[2], int),
                "temperature_c": _num(fields[3]),
            }
        )
    return devices


def parse_iperf3_json(text):
    """iperf3 -J output -> (bits per second received, error message or None).

    `end.sum_received` is what the receiving side actually got, for both directions
    (the client sends by default, receives with -R).
    """
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return None, "iperf3 produced no JSON"
    if not isinstance(doc, dict):
        return None, "iperf3 produced unexpected JSON"
    if doc.get("error"):
        return None, str(doc["error"])
    try:
        return float(doc["end"]["sum_received"]["bits_per_second"]), None
    except (KeyError, TypeError, ValueError):
        return None, "iperf3 JSON has no end.sum_received.bits_per_second"


def is_busy_error(message):
    """iperf3 servers run one test at a time and refuse others with "server is busy"."""
    return bool(message) and "busy" in message.lower()


def bps_to_mbps(bps):
    return None if bps is None else round(bps / 1e6, 2)


# ---------------------------------------------------------------- readers


def _read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _sorted_numeric(paths):
    """thermal_zone10 after thermal_zone9."""

    def key(p):
        digits = "".join(c for c in os.path.basename(p) if c.isdigit())
        return (int(digits) if digits else -1, p)

    return sorted(paths, key=key)


def read_thermal_zones(sysfs_root):
    zones = []
    pattern = os.path.join(sysfs_root, "class", "thermal", "thermal_zone*")
    for zone in _sorted_numeric(glob.glob(pattern)):
        raw = _read(os.path.join(zone, "temp"))
        if raw is None:
            continue
        kind = (_read(os.path.join(zone, "type")) or "").strip() or None
        zones.append(
            {
                "name": os.path.basename(zone),
                "type": kind,
                "celsius": milli_to_celsius(raw),
                "source": "thermal",
            }
        )
    return zones


def read_hwmon(sysfs_root):
    sensors = []
    pattern = os.path.join(sysfs_root, "class", "hwmon", "hwmon*")
    for chip in _sorted_numeric(glob.glob(pattern)):
        chip_name = (_read(os.path.join(chip, "name")) or "").strip() or None
        for inp in _sorted_numeric(glob.glob(os.path.join(chip, "temp*_input"))):
            sensor = os.path.basename(inp)[: -len("_input")]
            label = (_read(os.path.join(chip, sensor + "_label")) or "").strip()
            raw = _read(inp)
            if raw is None:  # some sensors return EIO/ENODATA while their device sleeps
                continue
            sensors.append(
                {
                    "name": "%s/%s" % (os.path.basename(chip), label or sensor),
                    "type": chip_name,
                    "celsius": milli_to_celsius(raw),
                    "source": "hwmon",
                }
            )
    return sensors


class Collector:
    """Runs the readers with the module's paths; commands go through AnsibleModule."""

    def __init__(self, module):
        self.m = module
        self.p = module.params

    def _tool(self, name):
        value = self.p[name]
        if os.path.isabs(value):
            return value if os.access(value, os.X_OK) else None
        return self.m.get_bin_path(value, opt_dirs=["/usr/bin", "/opt/vc/bin", "/usr/sbin"])

    @staticmethod
    def _run(argv, timeout):
        """(rc, stdout, stderr); rc None when the command failed to start or timed out.

        Not AnsibleModule.run_command: it has no timeout, and a hung tool (nvidia-smi on a
        wedged driver) must not hang the snapshot.
        """
        try:
            proc = subprocess.run(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, "", str(exc)
        return (
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def temperature(self):
        zones = read_thermal_zones(self.p["sysfs_root"]) + read_hwmon(self.p["sysfs_root"])
        vc = None
        vcgencmd = self._tool("vcgencmd")
        if vcgencmd:
            rc_t, out_t, _ = self._run([vcgencmd, "measure_temp"], timeout=10)
            rc_th, out_th, _ = self._run([vcgencmd, "get_throttled"], timeout=10)
            celsius = parse_vcgencmd_temp(out_t) if rc_t == 0 else None
            throttled = decode_throttled(out_th) if rc_th == 0 else None
            if celsius is not None or throttled is not None:
                vc = {"celsius": celsius, "throttled": throttled}
        return {"zones": zones, "vcgencmd": vc}

    def cpu(self):
        proc, sysfs = self.p["proc_root"], self.p["sysfs_root"]
        model, count, cpuinfo_mhz = parse_cpuinfo(_read(os.path.join(proc, "cpuinfo")))
        khz = []
        pattern = os.path.join(
            sysfs, "devices", "system", "cpu", "cpu[0-9]*", "cpufreq", "scaling_cur_freq"
        )
        for path in glob.glob(pattern):
            try:
                khz.append(int((_read(path) or "").strip()))
            except ValueError:
                continue
        freq = round(sum(khz) / len(khz) / 1000.0, 1) if khz else cpuinfo_mhz
        return {
            "model": model,
            "cores": count or os.cpu_count(),
            "freq_mhz": freq,
            "load": parse_loadavg(_read(os.path.join(proc, "loadavg"))),
        }

    def memory(self):
        return parse_meminfo(_read(os.path.join(self.p["proc_root"], "meminfo")))

    def disk(self):
        disks, seen = [], set()
        mounts = parse_mounts(_read(os.path.join(self.p["proc_root"], "self", "mounts")))
        for mount, _fstype in mounts:
            try:
                dev = os.stat(mount).st_dev
                entry = disk_usage(mount, os.statvfs(mount))
            except OSError:
                continue
            if entry is None or dev in seen:  # bind mounts repeat the same filesystem
                continue
            seen.add(dev)
            disks.append(entry)
        return disks

    def _nvidia_pci(self):
        devices = []
        pattern = os.path.join(self.p["sysfs_root"], "bus", "pci", "devices", "*")
        for dev in sorted(glob.glob(pattern)):
            vendor = (_read(os.path.join(dev, "vendor")) or "").strip().lower()
            pci_class = (_read(os.path.join(dev, "class")) or "").strip().lower()
            if vendor != NVIDIA_VENDOR or not pci_class.startswith("0x03"):
                continue
            driver = os.path.join(dev, "driver")
            devices.append(
                {
                    "pci_address": os.path.basename(dev),
                    "device_id": (_read(os.path.join(dev, "device")) or "").strip() or None,
                    "driver": os.path.basename(os.path.realpath(driver))
                    if os.path.islink(driver)
                    else None,
                }
            )
        return devices

    def gpu(self):
        smi = self._tool("nvidia_smi")
        reason = "nvidia-smi not found"
        if smi:
            rc, out, err = self._run(
                [
                    smi,
                    "--query-gpu=name,driver_version,memory.total,temperature.gpu",
                    "--format=csv,noheader,nounits",
                ],
                timeout=30,
            )
            devices = parse_nvidia_smi_csv(out) if rc == 0 else []
            if devices:
                return {"status": "nvidia", "devices": devices}
            detail = (err or out or "").strip().splitlines()
            reason = "nvidia-smi exited %s%s" % (rc, ": " + detail[0] if detail else "")
        pci = self._nvidia_pci()
        if pci:
            return {"status": "driver_missing", "reason": reason, "devices": pci}
        return {"status": "none", "devices": []}

    def _iperf_once(self, iperf3, reverse):
        p = self.p
        argv = [
            iperf3,
            "-c",
            p["speedtest_server"],
            "-p",
            str(p["speedtest_port"]),
            "-J",
            "-t",
            str(p["speedtest_seconds"]),
            "--connect-timeout",
            "3000",
        ]
        if reverse:
            argv.append("-R")
        for attempt in range(p["busy_retries"] + 1):
            rc, out, err = self._run(argv, timeout=p["speedtest_seconds"] + 20)
            bps, error = parse_iperf3_json(out)
            if bps is not None:
                return bps, None
            if error is None or error.startswith("iperf3 produced no JSON"):
                error = (err or error or "iperf3 failed (rc %s)" % rc).strip()
            if not is_busy_error(error) or attempt == p["busy_retries"]:
                return None, error
            time.sleep(p["busy_delay"] * (attempt + 1))
        return None, "iperf3 server stayed busy"

    def network(self):
        server = self.p["speedtest_server"]
        result = {"server": server, "uplink_mbps": None, "downlink_mbps": None, "error": None}
        if not server:
            result["error"] = "no speedtest server (edgefleet_controller_address unset)"
            return result
        iperf3 = self._tool("iperf3")
        if not iperf3:
            result["error"] = "iperf3 not installed"
            return result
        up, up_err = self._iperf_once(iperf3, reverse=False)
        down, down_err = self._iperf_once(iperf3, reverse=True)
        result["uplink_mbps"] = bps_to_mbps(up)
        result["downlink_mbps"] = bps_to_mbps(down)
        result["error"] = up_err or down_err
        return result

    def tools(self):
        """Which optional tools exist, so the playbook installs only what is missing."""
        return {name: self._tool(name) for name in ("vcgencmd", "nvidia_smi", "iperf3")}


SECTIONS = ("temperature", "cpu", "memory", "disk", "gpu", "network")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sections=dict(
                type="list", elements="str", default=["temperature", "cpu", "memory", "disk", "gpu"]
            ),
            sysfs_root=dict(type="path", default="/sys"),
            proc_root=dict(type="path", default="/proc"),
            vcgencmd=dict(type="str", default="vcgencmd"),
            nvidia_smi=dict(type="str", default="nvidia-smi"),
            iperf3=dict(type="str", default="iperf3"),
            speedtest_server=dict(type="str"),
            speedtest_port=dict(type="int", default=5201),
            speedtest_seconds=dict(type="int", default=1),
            busy_retries=dict(type="int", default=5),
            busy_delay=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    unknown = sorted(set(module.params["sections"]) - set(SECTIONS))
    if unknown:
        module.fail_json(
            msg="unknown sections: %s (known: %s)" % (", ".join(unknown), ", ".join(SECTIONS))
        )
    collector = Collector(module)
    health = {}
    for section in SECTIONS:
        if section in module.params["sections"]:
            health[section] = getattr(collector, section)()
    health["tools"] = collector.tools()
    module.exit_json(changed=False, health=health)


if __name__ == "__main__":
    main()
