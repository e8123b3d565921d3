"""One readable line per host for each playbook's structured result (`edgefleet_result`).

The CLI's tables, `edgefleet job show` and the dashboard's Job page (the API's host
`detail`) all read these, so a result reads the same everywhere."""

from __future__ import annotations

from typing import Any


def _ping(r: dict[str, Any]) -> str:
    os_ = r.get("os") or {}
    py = (r.get("python") or {}).get("version", "?")
    emulated = f" emulated on {r.get('kernel_arch')}" if r.get("emulated") else ""
    return (
        f"{os_.get('distribution', '?')} {os_.get('version', '')} · kernel {r.get('kernel', '?')}"
        f" · {r.get('arch', '?')} ({r.get('machine', '?')}{emulated}) · python {py}"
    )


def _upgrade(r: dict[str, Any]) -> str:
    ups = r.get("upgraded") or []
    names = ", ".join(f"{u.get('name')} {u.get('from')}→{u.get('to')}" for u in ups[:5])
    more = f" (+{len(ups) - 5} more)" if len(ups) > 5 else ""
    held = f" · {len(r['held'])} held" if r.get("held") else ""
    if r.get("rebooted"):
        reboot = "rebooted"
    elif r.get("reboot_required"):
        reboot = "reboot required (not allowed)"
    else:
        reboot = "no reboot needed"
    return f"{len(ups)} upgraded{': ' + names if names else ''}{more}{held} · {reboot}"


def _timesync(r: dict[str, Any]) -> str:
    offset = r.get("offset_s")
    off = f"{offset * 1000:+.3f} ms" if isinstance(offset, int | float) else "?"
    state = "synchronised" if r.get("synchronized") else "NOT synchronised"
    skew = (r.get("controller_skew") or {}).get("skew_s")
    skew_txt = ""
    if isinstance(skew, int | float):
        skew_txt = f" · skew vs controller {skew * 1000:+.3f} ms"
    return (
        f"{r.get('service', '?')} → {r.get('source') or '-'} · offset {off} · "
        f"stratum {r.get('stratum', '?')} · {state} · clock control "
        f"{r.get('clock_control', '?')}{skew_txt}"
    )


def _monitor(r: dict[str, Any]) -> str:
    temps = [
        z.get("celsius")
        for z in (r.get("temperature") or {}).get("zones", [])
        if isinstance(z.get("celsius"), int | float)
    ]
    temp = f"{max(temps):.1f}°C" if temps else "no sensor"
    cpu = r.get("cpu") or {}
    mem = r.get("memory") or {}
    net = r.get("network") or {}
    gpu = (r.get("gpu") or {}).get("status", "?")
    up, down = net.get("uplink_mbps"), net.get("downlink_mbps")
    speed = f"↑{up:.0f} ↓{down:.0f} Mbit/s" if up is not None and down is not None else "speed n/a"
    return (
        f"temp {temp} · {cpu.get('cores', '?')} cores load {(cpu.get('load') or ['?'])[0]} · "
        f"mem {mem.get('used_pct', '?')}% · {speed} · gpu {gpu}"
    )


def _install_agent(r: dict[str, Any]) -> str:
    if r.get("state") == "stopped":
        return f"agent stopped ({r.get('service_manager', '?')})"
    return (f"agent {r.get('release', '?')} via {r.get('service_manager', '?')} → "
            f"{r.get('controller_url', '?')} · device {r.get('device_id') or '?'}")


def _prediction(p: dict[str, Any]) -> str:
    """The health check's answer: best class, its score and the device's e2e latency."""
    top = (p.get("top") or [{}])[0]
    total = (p.get("latency_ms") or {}).get("total")
    latency = f" in {total:.0f} ms" if isinstance(total, int | float) else ""
    return f"predicted class {top.get('class', '?')} ({top.get('score', 0):.2f}){latency}"


def _deploy_model(r: dict[str, Any]) -> str:
    digest = str(r.get("digest") or "?")[:19]
    if r.get("status") in ("deployed", "unchanged"):
        where = f"{r.get('platform', '?')} :{r.get('port', '?')}"
        return f"{r['status']} {digest} · {where} · {_prediction(r.get('prediction') or {})}"
    back = f" · rolled back to {str(r['rolled_back_to'])[:19]}" if r.get("rolled_back_to") else ""
    return f"{r.get('status')} {digest} at {r.get('stage')}: {r.get('error')}{back}"


def _container_engine(r: dict[str, Any]) -> str:
    return f"{r.get('version')}" + (" (installed now)" if r.get("installed") else "")


_SUMMARY = {"ping": _ping, "upgrade": _upgrade, "timesync": _timesync, "monitor": _monitor,
            "install_agent": _install_agent, "deploy_model": _deploy_model,
            "container_engine": _container_engine}


def line(playbook: str, host: dict[str, Any]) -> str:
    """The host's result in words, else its message (an unreachable host has only that)."""
    if host.get("result") and playbook in _SUMMARY:
        try:
            return _SUMMARY[playbook](host["result"])
        except (TypeError, ValueError, AttributeError):
            return "result present (see --json)"
    return host.get("msg") or ""
