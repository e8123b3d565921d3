"""edgefleet_timesync: chrony/timesyncd parsers on captured output, SNTP skew over loopback."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from tests.unit._playbook_modules import FIXTURES, LIBRARY, load

ts = load(LIBRARY / "edgefleet_timesync.py", "edgefleet_timesync")
T = FIXTURES / "timesync"


def _text(name: str) -> str:
    return (T / name).read_text()


# --------------------------------------------------------------- chrony tracking/sources


def test_tracking_synchronised_amd64_capture():
    r = ts.parse_chrony_tracking(_text("chrony_tracking_amd64_lab.csv"))
    assert r["source"] == "10.213.0.1"
    assert r["stratum"] == 9
    assert r["leap_status"] == "Normal"
    assert r["synchronized"] is True
    # chrony's "System time" -0.000005673 is the correction to apply (clock 5.673 us fast):
    # offset_s is device minus source, so the device is ahead.
    assert r["offset_s"] == pytest.approx(5.673e-06)
    assert r["last_offset_s"] == pytest.approx(-4.814e-06)
    assert r["root_delay_s"] == pytest.approx(1.4726e-05)
    assert r["frequency_ppm"] == pytest.approx(0.002)


def test_tracking_arm64_capture_clock_slow():
    r = ts.parse_chrony_tracking(_text("chrony_tracking_arm64_lab.csv"))
    assert r["synchronized"] is True
    assert r["offset_s"] == pytest.approx(-1.1469e-05)


def test_tracking_right_after_restart_is_not_synchronised():
    r = ts.parse_chrony_tracking(_text("chrony_tracking_unsynced.csv"))
    assert r["synchronized"] is False
    assert r["source"] is None
    assert r["stratum"] == 0
    assert r["leap_status"] == "Not synchronised"


@pytest.mark.parametrize("text", ["", "506 Cannot talk to daemon", "a,b,c"])
def test_tracking_rejects_non_tracking_output(text):
    assert ts.parse_chrony_tracking(text) is None


def test_sources_selected_and_unusable():
    assert ts.parse_chrony_sources(_text("chrony_sources_synced.csv")) == [
        {"mode": "^", "state": "*", "name": "10.213.0.1", "stratum": 8, "reach": 0o77}
    ]
    unsynced = ts.parse_chrony_sources(_text("chrony_sources_unsynced.csv"))
    assert unsynced[0]["state"] == "?" and unsynced[0]["reach"] == 1


# --------------------------------------------------------------- clock control (-x)


def test_chronyd_cmdline_native_and_under_qemu():
    assert ts.chronyd_argv((T / "chronyd_cmdline_amd64").read_bytes()) == ["-x"]
    qemu = ts.chronyd_argv((T / "chronyd_cmdline_qemu_arm64").read_bytes())
    assert qemu == ["/usr/sbin/chronyd", "-x"]
    assert ts.controls_clock(qemu) is False
    assert ts.chronyd_argv(b"sshd: /usr/sbin/sshd -D\x00") is None
    assert ts.chronyd_argv(b"") is None


@pytest.mark.parametrize(
    ("args", "controls"),
    [
        (["-x"], False),
        (["-F", "1"], True),
        (["-d", "-x"], False),
        (["-dx"], False),  # grouped short options
        (["-f", "/etc/chrony/chrony.conf"], True),
        (["-f", "-x"], True),  # "-x" is the value of -f here, not the option
        (["-F1x"], True),  # "1x" is -F's attached value
        (["-u", "_chrony", "--", "-x"], True),  # after "--" nothing is an option
        ([], True),
    ],
)
def test_controls_clock_scans_like_getopt(args, controls):
    assert ts.controls_clock(args) is controls


def test_daemon_opts_from_default_files():
    assert ts.parse_daemon_opts(_text("default_chrony_debian")) == "-F 1"
    assert ts.parse_daemon_opts(_text("default_chrony_lab")) == "-x"
    assert ts.parse_daemon_opts('#DAEMON_OPTS="-x"\nOTHER=1\n') is None
    assert ts.parse_daemon_opts("DAEMON_OPTS='-x -F 1' # lab\n") == "-x -F 1"


# --------------------------------------------------------------- systemd-timesyncd


def test_show_timesync_key_values():
    kv = ts.parse_key_values(_text("timedatectl_show_timesync.txt"))
    assert kv["ServerName"] == "0.debian.pool.ntp.org"
    assert kv["ServerAddress"] == "104.131.155.175"
    assert kv["NTPMessage"].startswith("{ Leap=0")


def test_busctl_ntp_message_offset_from_microsecond_timestamps():
    stratum, offset = ts.parse_busctl_ntp_message(_text("busctl_ntp_message.json"))
    assert stratum == 2
    # T1..T4 = ...671505, ...697338, ...697398, ...722962 us:
    # server-minus-client ((T2-T1)+(T3-T4))/2 = (25833 - 25564)/2 = 134.5 us; device behind.
    assert offset == pytest.approx(-134.5e-6)


def test_busctl_before_first_sync_and_garbage():
    never = '{"type":"(uuuuittayttttbtt)","data":[0,0,0,0,0,0,0,[],0,0,0,0,false,0,0]}'
    assert ts.parse_busctl_ntp_message(never) == (0, None)
    assert ts.parse_busctl_ntp_message("Failed to get property") == (None, None)


# --------------------------------------------------------------- SNTP skew


def _reply(request: bytes, server_now: float, stratum: int = 8) -> bytes:
    """A minimal NTP server reply echoing the client's transmit time as origin."""
    origin = request[40:48]
    stamp = struct.pack("!Q", ts.to_ntp(server_now))
    head = struct.pack("!BBbb", (4 << 3) | 4, stratum, 6, -20) + b"\0" * 12
    return head + stamp + origin + stamp + stamp


def test_ntp_timestamp_round_trip():
    now = 1795455897.823444
    assert ts.from_ntp(ts.to_ntp(now)) == pytest.approx(now, abs=1e-6)


def test_sntp_request_is_a_v4_client_packet():
    packet = ts.sntp_request(1795455897.5)
    assert len(packet) == 48
    assert packet[0] == 0x23  # LI 0, version 4, mode 3 (client)
    assert struct.unpack("!Q", packet[40:48])[0] == ts.to_ntp(1795455897.5)


def test_sntp_offset_and_delay():
    t1 = 1000.0
    reply = _reply(ts.sntp_request(t1), server_now=1002.0)
    # Server stamps T2 = T3 = 1002.0; reply arrives at T4 = 1000.2 (200 ms round trip).
    sample = ts.parse_sntp_response(reply, t1, 1000.2)
    assert sample["offset_s"] == pytest.approx(1.9, abs=1e-6)  # server ahead by ~1.9 s
    assert sample["delay_s"] == pytest.approx(0.2, abs=1e-6)
    assert sample["stratum"] == 8


def test_sntp_rejects_foreign_or_kiss_of_death_replies():
    reply = _reply(ts.sntp_request(1000.0), server_now=1000.0)
    assert ts.parse_sntp_response(reply, 999.0, 1000.1) is None  # origin mismatch
    kod = _reply(ts.sntp_request(1000.0), server_now=1000.0, stratum=0)
    assert ts.parse_sntp_response(kod, 1000.0, 1000.1) is None
    assert ts.parse_sntp_response(b"short", 1000.0, 1000.1) is None


def test_best_sample_has_smallest_round_trip():
    samples = [None, {"offset_s": 0.5, "delay_s": 0.3}, {"offset_s": 0.1, "delay_s": 0.01}]
    assert ts.best_sample(samples)["offset_s"] == 0.1
    assert ts.best_sample([None]) is None


@pytest.fixture
def ntp_server_ahead():
    """A loopback UDP NTP responder whose clock runs 2.5 s ahead of this machine."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except OSError:
                continue
            sock.sendto(_reply(data, time.time() + 2.5), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_measure_skew_against_a_real_udp_server(ntp_server_ahead):
    skew, rtt, error = ts.measure_skew("127.0.0.1", port=ntp_server_ahead, count=3)
    assert error is None
    assert skew == pytest.approx(-2.5, abs=0.05)  # the device is 2.5 s behind the server
    assert 0 <= rtt < 0.5


def test_measure_skew_without_a_server_reports_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    skew, rtt, error = ts.measure_skew("127.0.0.1", port=port, count=1, timeout=0.3)
    assert skew is None and rtt is None
    assert "127.0.0.1" in error
