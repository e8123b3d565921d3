#!/usr/bin/python
"""edgefleet_timesync: detect the time service and read its sync state as structured data.

chrony is read through `chronyc -c` (CSV, field order per chronyc(1)); systemd-timesyncd
through `timedatectl show` (key=value) and busctl's JSON NTPMessage. The parsers are pure
functions so unit tests can feed them captured output. The module changes nothing.
"""

import glob
import json
import os
import shlex
import socket
import struct
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edgefleet_timesync
short_description: Detect chrony/systemd-timesyncd and report source, stratum, offset, sync
options:
  action:
    description:
      - C(probe) finds the service, whether chronyd runs and whether it controls the clock.
      - C(status) reads the current synchronisation state of I(service).
    type: str
    choices: [probe, status]
    default: status
  service:
    description: Service to read with C(action=status).
    type: str
    choices: [chrony, systemd-timesyncd]
  skew_server:
    description:
      - NTP server (the controller) to measure device-minus-server clock skew against with
        a few SNTP queries; omitted means no skew measurement.
    type: str
  proc_root:
    type: path
    default: /proc
  chrony_default_file:
    description: Environment file holding chronyd's DAEMON_OPTS.
    type: path
    default: /etc/default/chrony
"""

RETURN = r"""
timesync:
  description: probe or status data (see the playbook for the shape).
  type: dict
  returned: always
"""

# chronyc -c tracking: one CSV line, fields in this order (chronyc(1) "tracking").
TRACKING_FIELDS = (
    "ref_id",
    "ref_name",
    "stratum",
    "ref_time",
    "system_time",
    "last_offset",
    "rms_offset",
    "frequency_ppm",
    "residual_freq_ppm",
    "skew_ppm",
    "root_delay",
    "root_dispersion",
    "update_interval",
    "leap_status",
)

# chronyd options that take an argument (chronyd(8)), for a getopt-style scan of argv.
CHRONYD_ARG_OPTS = frozenset("fFlLPtu")

TIMESYNCD_BINARIES = ("/lib/systemd/systemd-timesyncd", "/usr/lib/systemd/systemd-timesyncd")


# ---------------------------------------------------------------- pure parsers


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_chrony_tracking(text):
    """`chronyc -c tracking` CSV -> dict; None when the output is not a tracking line.

    chrony's `system_time` is the correction still to apply (positive = clock slow), so
    offset_s = -system_time: positive means the device clock is AHEAD of the source.
    """
    line = (text or "").strip().splitlines()
    if not line:
        return None
    fields = line[0].split(",")
    if len(fields) != len(TRACKING_FIELDS):
        return None
    # Length checked above; no zip(strict=) because devices may run Python < 3.10.
    raw = {name: fields[i] for i, name in enumerate(TRACKING_FIELDS)}
    stratum = int(raw["stratum"]) if raw["stratum"].isdigit() else None
    system_time = _float(raw["system_time"])
    leap = raw["leap_status"].strip()
    synchronized = (
        leap != "Not synchronised"
        and raw["ref_id"].strip("0") != ""
        and stratum is not None
        and 0 < stratum < 16
    )
    return {
        "source": raw["ref_name"] or None,
        "ref_id": raw["ref_id"],
        "stratum": stratum,
        "offset_s": -system_time if system_time is not None else None,
        "last_offset_s": _float(raw["last_offset"]),
        "rms_offset_s": _float(raw["rms_offset"]),
        "frequency_ppm": _float(raw["frequency_ppm"]),
        "root_delay_s": _float(raw["root_delay"]),
        "root_dispersion_s": _float(raw["root_dispersion"]),
        "ref_time": _float(raw["ref_time"]),
        "leap_status": leap,
        "synchronized": synchronized,
    }


def parse_chrony_sources(text):
    """`chronyc -c sources` CSV -> [{mode, state, name, stratum, reach}].

    state '*' = selected, '+' = combined, '-' = not combined, '?' = unusable,
    'x' = falseticker, '~' = too variable.
    """
    sources = []
    for line in (text or "").splitlines():
        fields = line.split(",")
        if len(fields) < 6:
            continue
        sources.append(
            {
                "mode": fields[0],
                "state": fields[1],
                "name": fields[2],
                "stratum": int(fields[3]) if fields[3].isdigit() else None,
                "reach": int(fields[5], 8) if fields[5].isdigit() else None,
            }
        )
    return sources


def chronyd_argv(cmdline):
    """Split /proc/PID/cmdline; return chronyd's arguments or None if not chronyd.

    Under qemu-user (emulated arm64) the kernel shows the interpreter first, then the
    binary path, then the original argv, so look for the first `chronyd` element.
    """
    parts = [p for p in (cmdline or b"").decode("utf-8", "replace").split("\0") if p]
    for i, part in enumerate(parts):
        if os.path.basename(part) == "chronyd":
            return parts[i + 1 :]
    return None


def controls_clock(args):
    """False when chronyd's options include -x (never adjust the system clock)."""
    args = list(args or [])
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg.startswith("--") or arg == "-":
            continue
        letters = arg[1:]
        for j, letter in enumerate(letters):
            if letter == "x":
                return False
            if letter in CHRONYD_ARG_OPTS:
                if j == len(letters) - 1:
                    i += 1  # the option's value is the next argument
                break
    return True


def parse_daemon_opts(text):
    """DAEMON_OPTS from /etc/default/chrony (a shell variable file) -> string or None."""
    value = None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line.startswith("DAEMON_OPTS="):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words:
            value = words[0].partition("=")[2]
    return value


def parse_key_values(text):
    """systemd `show` output (key=value per line) -> dict."""
    out = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_busctl_ntp_message(text):
    """`busctl -j get-property ... NTPMessage` -> (stratum, offset_s) or (None, None).

    NTPMessage is (leap, version, mode, stratum, precision, root_delay, root_dispersion,
    reference, origin, receive, transmit, destination, spike, packet_count, jitter) with
    timestamps in microseconds. offset = -((T2-T1)+(T3-T4))/2: positive = device ahead.
    """
    try:
        data = json.loads(text)["data"]
        stratum = int(data[3])
        t1, t2, t3, t4 = (int(x) for x in data[8:12])
    except (TypeError, ValueError, KeyError, IndexError):
        return None, None
    if not all((t1, t2, t3, t4)):
        return stratum, None
    return stratum, -((t2 - t1) + (t3 - t4)) / 2.0 / 1e6


# Seconds between the NTP era (1900) and the Unix epoch.
NTP_EPOCH_DELTA = 2208988800


def to_ntp(t):
    """Unix seconds -> 64-bit NTP timestamp (32.32 fixed point)."""
    t += NTP_EPOCH_DELTA
    seconds = int(t)
    return (seconds << 32) | int((t - seconds) * 2**32)


def from_ntp(value):
    return (value >> 32) - NTP_EPOCH_DELTA + (value & 0xFFFFFFFF) / 2**32


def sntp_request(t1):
    """48-byte SNTP client request (LI=0, VN=4, mode 3) carrying t1 as transmit time."""
    return struct.pack("!B47x", (4 << 3) | 3)[:40] + struct.pack("!Q", to_ntp(t1))


def parse_sntp_response(packet, t1, t4):
    """Server reply + client send/receive times -> {offset_s, delay_s, stratum} or None.

    offset = ((T2-T1)+(T3-T4))/2 is server minus client (RFC 5905); the reply must echo
    our transmit time as its origin, or it is not an answer to this request.
    """
    if len(packet) < 48:
        return None
    first, stratum = struct.unpack("!BB", packet[:2])
    mode = first & 0x7
    origin, receive, transmit = struct.unpack("!QQQ", packet[24:48])
    if mode != 4 or stratum == 0 or origin != to_ntp(t1):
        return None
    t2, t3 = from_ntp(receive), from_ntp(transmit)
    return {
        "offset_s": ((t2 - t1) + (t3 - t4)) / 2.0,
        "delay_s": (t4 - t1) - (t3 - t2),
        "stratum": stratum,
    }


def best_sample(samples):
    """The sample with the smallest round trip bounds the offset error best."""
    samples = [s for s in samples if s]
    return min(samples, key=lambda s: s["delay_s"]) if samples else None


# ---------------------------------------------------------------- device readers


def measure_skew(server, port=123, count=3, timeout=2.0):
    """Device-minus-server clock skew from a few SNTP queries; (skew, rtt, error)."""
    samples, error = [], None
    try:
        addr = socket.getaddrinfo(server, port, 0, socket.SOCK_DGRAM)[0]
    except OSError as exc:
        return None, None, "cannot resolve %s: %s" % (server, exc)
    for _ in range(count):
        sock = socket.socket(addr[0], socket.SOCK_DGRAM)
        sock.settimeout(timeout)
        try:
            t1 = time.time()
            sock.sendto(sntp_request(t1), addr[4])
            packet = sock.recv(512)
            t4 = time.time()
            samples.append(parse_sntp_response(packet, t1, t4))
        except OSError as exc:
            error = "no NTP reply from %s: %s" % (server, exc)
        finally:
            sock.close()
    best = best_sample(samples)
    if best is None:
        return None, None, error or "no valid NTP reply from %s" % server
    # Server minus client -> device minus server.
    return -best["offset_s"], best["delay_s"], None


def _read(path, mode="r"):
    try:
        with open(path, mode) as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _run(argv, timeout=15):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, "", str(exc)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode()


def find_chronyd(proc_root):
    """(pid, args) of the running chronyd, or (None, None)."""
    for path in glob.glob(os.path.join(proc_root, "[0-9]*", "cmdline")):
        args = chronyd_argv(_read(path, "rb"))
        if args is not None:
            return int(os.path.basename(os.path.dirname(path))), args
    return None, None


def probe(module):
    p = module.params
    chronyd = module.get_bin_path("chronyd", opt_dirs=["/usr/sbin", "/sbin"])
    timesyncd = next((b for b in TIMESYNCD_BINARIES if os.access(b, os.X_OK)), None)
    service = "chrony" if chronyd else "systemd-timesyncd" if timesyncd else None
    pid, args = find_chronyd(p["proc_root"])
    opts = parse_daemon_opts(_read(p["chrony_default_file"]))
    configured = controls_clock(shlex.split(opts or ""))
    running = controls_clock(args) if pid else None
    version = None
    if chronyd:
        rc, out, _ = _run([chronyd, "--version"])
        words = out.split()
        if rc == 0 and "version" in words and words.index("version") + 1 < len(words):
            version = words[words.index("version") + 1]
    timedatectl = module.get_bin_path("timedatectl")
    ntp_enabled = None
    if service == "systemd-timesyncd" and timedatectl:
        rc, out, _ = _run([timedatectl, "show"])
        if rc == 0:
            ntp_enabled = parse_key_values(out).get("NTP") == "yes"
    # What clock control will be once (re)started with the configured options; a running
    # daemon's own flags win until then.
    effective = running if running is not None else configured
    return {
        "service": service,
        "chrony_version": version,
        "chronyd_pid": pid,
        "chronyd_args": args,
        "daemon_opts": opts,
        "running_controls_clock": running,
        "configured_controls_clock": configured,
        "clock_control": "enabled" if effective else "disabled",
        "ntp_enabled": ntp_enabled,
    }


def chrony_status(module):
    chronyc = module.get_bin_path("chronyc", required=True)
    # -n: no reverse DNS (devices may have none); -c: CSV.
    rc, out, err = _run([chronyc, "-n", "-c", "tracking"])
    if rc != 0:
        module.fail_json(msg="chronyc tracking failed: %s" % (err or out).strip())
    tracking = parse_chrony_tracking(out)
    if tracking is None:
        module.fail_json(msg="unexpected chronyc -c tracking output", stdout=out)
    rc, out, _ = _run([chronyc, "-n", "-c", "sources"])
    tracking["sources"] = parse_chrony_sources(out) if rc == 0 else []
    pid, args = find_chronyd(module.params["proc_root"])
    tracking["clock_control"] = "enabled" if pid and controls_clock(args) else "disabled"
    return tracking


def timesyncd_status(module):
    timedatectl = module.get_bin_path("timedatectl", required=True)
    rc, out, _ = _run([timedatectl, "show"])
    show = parse_key_values(out) if rc == 0 else {}
    rc, out, _ = _run([timedatectl, "show-timesync"])
    sync = parse_key_values(out) if rc == 0 else {}
    stratum = offset = None
    busctl = module.get_bin_path("busctl")
    if busctl:
        rc, out, _ = _run(
            [busctl, "-j", "get-property", "org.freedesktop.timesync1",
             "/org/freedesktop/timesync1", "org.freedesktop.timesync1.Manager", "NTPMessage"]
        )  # fmt: skip
        if rc == 0:
            stratum, offset = parse_busctl_ntp_message(out)
    return {
        "source": sync.get("ServerAddress") or sync.get("ServerName") or None,
        "stratum": stratum,
        "offset_s": offset,
        "synchronized": show.get("NTPSynchronized") == "yes",
        # timesyncd has no measure-only mode: when it runs, it sets the clock.
        "clock_control": "enabled",
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", choices=["probe", "status"], default="status"),
            service=dict(type="str", choices=["chrony", "systemd-timesyncd"]),
            skew_server=dict(type="str"),
            proc_root=dict(type="path", default="/proc"),
            chrony_default_file=dict(type="path", default="/etc/default/chrony"),
        ),
        required_if=[("action", "status", ["service"])],
        supports_check_mode=True,
    )
    if module.params["action"] == "probe":
        result = probe(module)
    elif module.params["service"] == "chrony":
        result = chrony_status(module)
    else:
        result = timesyncd_status(module)
    if module.params["skew_server"]:
        skew, rtt, error = measure_skew(module.params["skew_server"])
        result["controller_skew"] = {
            "server": module.params["skew_server"],
            "skew_s": None if skew is None else round(skew, 6),
            "rtt_s": None if rtt is None else round(rtt, 6),
            "error": error,
        }
    module.exit_json(changed=False, timesync=result)


if __name__ == "__main__":
    main()
