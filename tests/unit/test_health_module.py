"""edgefleet_health: decoders on captured output, and the whole module on fixture trees."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.unit._playbook_modules import FIXTURES, LIBRARY, load, run_module

health = load(LIBRARY / "edgefleet_health.py", "edgefleet_health")
H = FIXTURES / "health"
IPERF = FIXTURES / "iperf3"


# --------------------------------------------------------------- temperatures


def test_milli_celsius_from_sysfs_text():
    assert health.milli_to_celsius("48686\n") == 48.686
    assert health.milli_to_celsius("-5000") == -5.0
    assert health.milli_to_celsius("") is None
    assert health.milli_to_celsius("N/A") is None


def test_throttled_0x50005_decodes_now_and_since_boot_bits():
    decoded = health.decode_throttled("throttled=0x50005\n")
    assert decoded == {
        "raw": "0x50005",
        "under_voltage": True,  # bit 0
        "frequency_capped": False,  # bit 1
        "throttled": True,  # bit 2
        "soft_temp_limit": False,  # bit 3
        "under_voltage_since_boot": True,  # bit 16
        "frequency_capped_since_boot": False,  # bit 17
        "throttled_since_boot": True,  # bit 18
        "soft_temp_limit_since_boot": False,  # bit 19
    }


def test_throttled_history_only_and_healthy_values():
    history = health.decode_throttled("throttled=0xe0000")
    assert not any(history[k] for k in ("under_voltage", "throttled", "frequency_capped"))
    assert history["frequency_capped_since_boot"] and history["throttled_since_boot"]
    assert history["soft_temp_limit_since_boot"] and not history["under_voltage_since_boot"]
    assert not any(v for k, v in health.decode_throttled("throttled=0x0").items() if k != "raw")


@pytest.mark.parametrize("text", ["", "volt=1.2000V", "throttled=zz", "garbage"])
def test_throttled_rejects_other_output(text):
    assert health.decode_throttled(text) is None


def test_vcgencmd_temperature():
    assert health.parse_vcgencmd_temp("temp=39.7'C\n") == 39.7
    assert health.parse_vcgencmd_temp("throttled=0x0") is None
    assert health.parse_vcgencmd_temp("") is None


def test_pi_thermal_zone_and_hwmon_are_both_reported_in_celsius():
    zones = health.read_thermal_zones(str(H / "sys_rpi4"))
    hwmon = health.read_hwmon(str(H / "sys_rpi4"))
    assert zones == [
        {"name": "thermal_zone0", "type": "cpu-thermal", "celsius": 48.686, "source": "thermal"}
    ]
    # rpi_volt has no temp*_input: it contributes nothing.
    assert hwmon == [
        {"name": "hwmon0/temp1", "type": "cpu_thermal", "celsius": 48.686, "source": "hwmon"}
    ]


def test_x86_zones_sort_numerically_and_unreadable_sensors_are_skipped():
    root = str(H / "sys_gpu_nodriver")
    zones = health.read_thermal_zones(root)
    assert [z["name"] for z in zones] == ["thermal_zone0", "thermal_zone1", "thermal_zone10"]
    assert [z["type"] for z in zones] == ["acpitz", "x86_pkg_temp", "iwlwifi_1"]
    hwmon = health.read_hwmon(root)
    assert [(s["name"], s["celsius"]) for s in hwmon] == [
        ("hwmon0/Package id 0", 45.0),
        ("hwmon0/Core 0", 43.0),
        ("hwmon1/Composite", 38.85),
    ]


def test_missing_sysfs_gives_empty_lists(tmp_path):
    assert health.read_thermal_zones(str(tmp_path)) == []
    assert health.read_hwmon(str(tmp_path)) == []


# --------------------------------------------------------------- cpu, memory, disk


def test_cpuinfo_x86_capture():
    model, count, mhz = health.parse_cpuinfo((H / "proc_x86" / "cpuinfo").read_text())
    assert model == "AMD EPYC"
    assert count == 2
    assert mhz == pytest.approx(2596.1, abs=0.1)


def test_cpuinfo_pi_uses_board_model_and_has_no_mhz():
    model, count, mhz = health.parse_cpuinfo((H / "proc_rpi4" / "cpuinfo").read_text())
    assert model == "Raspberry Pi 4 Model B Rev 1.4"
    assert count == 4
    assert mhz is None


def test_loadavg():
    assert health.parse_loadavg("1.04 0.77 0.33 2/93 25387\n") == [1.04, 0.77, 0.33]
    assert health.parse_loadavg("") is None


def test_meminfo_capture_in_mib():
    text = (H / "proc_x86" / "meminfo").read_text()
    kb = {ln.split(":")[0]: int(ln.split()[1]) for ln in text.splitlines()}
    mem = health.parse_meminfo(text)
    assert mem["total_mb"] == round(kb["MemTotal"] / 1024, 1)
    assert mem["available_mb"] == round(kb["MemAvailable"] / 1024, 1)
    expected_pct = 100 * (kb["MemTotal"] - kb["MemAvailable"]) / kb["MemTotal"]
    assert mem["used_pct"] == pytest.approx(expected_pct, abs=0.05)
    assert mem["swap_total_mb"] == round(kb["SwapTotal"] / 1024, 1)


def test_meminfo_swap_use_and_old_kernel_fallback():
    mem = health.parse_meminfo(
        "MemTotal: 4096000 kB\nMemFree: 1024000 kB\nBuffers: 0 kB\nCached: 1024000 kB\n"
        "SwapTotal: 102400 kB\nSwapFree: 51200 kB\n"
    )
    assert mem["available_mb"] == 2000.0  # MemFree + Buffers + Cached without MemAvailable
    assert mem["used_pct"] == 50.0
    assert mem["swap_used_mb"] == 50.0
    assert health.parse_meminfo("") is None


def test_mount_filter_keeps_storage_and_drops_pseudo_network_and_images():
    mounts = health.parse_mounts((H / "proc_x86" / "self" / "mounts").read_text())
    assert mounts == [
        ("/", "ext4"),
        ("/run/netns", "ext4"),  # same filesystem as /: disk() dedupes by device
        ("/boot/firmware", "vfat"),
        ("/var/lib/docker/overlay2/abc/merged", "overlay"),
        ("/media/USB Stick", "ext4"),
    ]


class _Vfs:
    f_frsize = 4096
    f_blocks = 1_000_000  # 3.81 GiB
    f_bfree = 250_000
    f_bavail = 200_000  # 50 000 blocks reserved for root


def test_disk_usage_matches_df_arithmetic():
    entry = health.disk_usage("/", _Vfs())
    assert entry == {
        "mount": "/",
        "total_gb": round(1_000_000 * 4096 / 1024**3, 2),
        "used_gb": round(750_000 * 4096 / 1024**3, 2),
        # df: used / (used + available to non-root)
        "used_pct": round(100 * 750_000 / 950_000, 1),
    }


def test_empty_filesystem_is_ignored():
    class Empty(_Vfs):
        f_blocks = 0

    assert health.disk_usage("/proc", Empty()) is None


# --------------------------------------------------------------- gpu


def test_nvidia_smi_csv_with_unavailable_field():
    text = subprocess.run([H / "bin" / "nvidia-smi-ok"], capture_output=True, text=True).stdout
    assert health.parse_nvidia_smi_csv(text) == [
        {
            "index": 0,
            "name": "NVIDIA GeForce RTX 3090",
            "driver_version": "535.183.01",
            "memory_total_mb": 24576,
            "temperature_c": 45.0,
        },
        {
            "index": 1,
            "name": "NVIDIA A100-SXM4-40GB",
            "driver_version": "535.183.01",
            "memory_total_mb": 40960,
            "temperature_c": None,
        },
    ]


def test_nvidia_smi_error_text_is_not_a_device():
    assert health.parse_nvidia_smi_csv("NVIDIA-SMI has failed because it couldn't") == []


# --------------------------------------------------------------- iperf3


def test_iperf3_uplink_and_downlink_captures():
    for name in ("uplink_loopback.json", "downlink_loopback.json"):
        text = (IPERF / name).read_text()
        expected = json.loads(text)["end"]["sum_received"]["bits_per_second"]
        bps, error = health.parse_iperf3_json(text)
        assert error is None
        assert bps == expected
        assert health.bps_to_mbps(bps) == round(expected / 1e6, 2)


def test_iperf3_downlink_capture_is_a_reverse_test():
    doc = json.loads((IPERF / "downlink_loopback.json").read_text())
    assert doc["start"]["test_start"]["reverse"] == 1


def test_iperf3_busy_server_is_recognised_as_retryable():
    bps, error = health.parse_iperf3_json((IPERF / "busy_loopback.json").read_text())
    assert bps is None
    assert health.is_busy_error(error)


def test_iperf3_refused_is_an_error_but_not_busy():
    bps, error = health.parse_iperf3_json((IPERF / "refused_loopback.json").read_text())
    assert bps is None
    assert "Connection refused" in error
    assert not health.is_busy_error(error)


def test_iperf3_non_json_output():
    assert health.parse_iperf3_json("") == (None, "iperf3 produced no JSON")
    assert health.parse_iperf3_json("[]")[1] == "iperf3 produced unexpected JSON"
    assert health.bps_to_mbps(None) is None


# --------------------------------------------------------------- whole module


def _fake_iperf3(tmp_path: Path, replies: list[str]) -> Path:
    """An iperf3 stand-in that prints the captured JSON replies in order, one per call."""
    counter = tmp_path / "calls"
    counter.write_text("0")
    script = tmp_path / "iperf3"
    files = " ".join(str(IPERF / r) for r in replies)
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat {counter}); echo $((n + 1)) > {counter}\n'
        f"set -- {files}\n"
        'shift "$n"; cat "$1"\n'
    )
    script.chmod(0o755)
    return script


def test_module_on_pi_fixtures(tmp_path):
    out = run_module(
        "edgefleet_health",
        {
            "sysfs_root": str(H / "sys_rpi4"),
            "proc_root": str(H / "proc_x86"),
            "vcgencmd": str(H / "bin" / "vcgencmd"),
            "nvidia_smi": str(tmp_path / "absent-nvidia-smi"),
        },
        tmp_path,
    )
    assert out["changed"] is False
    h = out["health"]
    assert h["temperature"]["vcgencmd"]["celsius"] == 39.7
    assert h["temperature"]["vcgencmd"]["throttled"]["raw"] == "0x50005"
    assert h["temperature"]["vcgencmd"]["throttled"]["under_voltage"] is True
    assert {z["source"] for z in h["temperature"]["zones"]} == {"thermal", "hwmon"}
    assert h["cpu"]["freq_mhz"] == 1050.0  # mean of 1500/1500/600/600 MHz from cpufreq kHz
    assert h["cpu"]["cores"] == 2 and h["cpu"]["load"] is not None
    assert h["gpu"] == {"status": "none", "devices": []}  # Pi PCIe bridge + USB are not GPUs
    assert "network" not in h
    assert "/" in [d["mount"] for d in h["disk"]]


def test_module_reports_driver_missing_with_reason(tmp_path):
    out = run_module(
        "edgefleet_health",
        {
            "sections": ["gpu"],
            "sysfs_root": str(H / "sys_gpu_nodriver"),
            "nvidia_smi": str(H / "bin" / "nvidia-smi-nodriver"),
        },
        tmp_path,
    )
    gpu = out["health"]["gpu"]
    assert gpu["status"] == "driver_missing"
    assert gpu["reason"].startswith("nvidia-smi exited 9: NVIDIA-SMI has failed")
    # Only the VGA function (class 0x03xx) counts, not the GPU's HDMI audio function.
    assert gpu["devices"] == [
        {"pci_address": "0000:01:00.0", "device_id": "0x2684", "driver": None}
    ]


def test_module_reports_missing_nvidia_smi(tmp_path):
    out = run_module(
        "edgefleet_health",
        {"sections": ["gpu"], "sysfs_root": str(H / "sys_gpu_nodriver"),
         "nvidia_smi": str(tmp_path / "none")},
        tmp_path,
    )  # fmt: skip
    assert out["health"]["gpu"]["reason"] == "nvidia-smi not found"


def test_module_reads_nvidia_gpus(tmp_path):
    out = run_module(
        "edgefleet_health",
        {"sections": ["gpu"], "nvidia_smi": str(H / "bin" / "nvidia-smi-ok")},
        tmp_path,
    )
    assert out["health"]["gpu"]["status"] == "nvidia"
    assert [d["name"] for d in out["health"]["gpu"]["devices"]] == [
        "NVIDIA GeForce RTX 3090",
        "NVIDIA A100-SXM4-40GB",
    ]


def test_network_retries_while_the_server_is_busy(tmp_path):
    fake = _fake_iperf3(
        tmp_path, ["busy_loopback.json", "uplink_loopback.json", "downlink_loopback.json"]
    )
    out = run_module(
        "edgefleet_health",
        {"sections": ["network"], "iperf3": str(fake), "speedtest_server": "127.0.0.1",
         "busy_delay": 0.01},
        tmp_path,
    )  # fmt: skip
    net = out["health"]["network"]
    up = json.loads((IPERF / "uplink_loopback.json").read_text())
    assert net["error"] is None
    assert net["uplink_mbps"] == round(up["end"]["sum_received"]["bits_per_second"] / 1e6, 2)
    assert net["downlink_mbps"] is not None
    assert (tmp_path / "calls").read_text().strip() == "3"


def test_network_gives_up_after_bounded_busy_retries(tmp_path):
    fake = _fake_iperf3(tmp_path, ["busy_loopback.json"] * 3 + ["refused_loopback.json"])
    out = run_module(
        "edgefleet_health",
        {"sections": ["network"], "iperf3": str(fake), "speedtest_server": "127.0.0.1",
         "busy_retries": 1, "busy_delay": 0.01},
        tmp_path,
    )  # fmt: skip
    net = out["health"]["network"]
    assert net["uplink_mbps"] is None and net["downlink_mbps"] is None
    assert health.is_busy_error(net["error"])
    # Uplink: 1 try + 1 retry, both busy; downlink: busy, then the refused reply.
    assert (tmp_path / "calls").read_text().strip() == "4"


def test_network_without_iperf3_is_null_not_failure(tmp_path):
    out = run_module(
        "edgefleet_health",
        {"sections": ["network"], "iperf3": str(tmp_path / "no-iperf3"),
         "speedtest_server": "127.0.0.1"},
        tmp_path,
    )  # fmt: skip
    assert out.get("failed") is not True
    assert out["health"]["network"] == {
        "server": "127.0.0.1",
        "uplink_mbps": None,
        "downlink_mbps": None,
        "error": "iperf3 not installed",
    }


def test_unknown_section_fails_clearly(tmp_path):
    out = run_module("edgefleet_health", {"sections": ["temp"]}, tmp_path)
    assert out["failed"] is True
    assert "unknown sections: temp" in out["msg"]
