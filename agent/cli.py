"""`python -m agent run ...` (and `edgefleet agent run ...`): argparse, stdlib only.

The device bundle ships only the agent package and its two small dependencies, so this
entry point can't use the controller's Typer CLI. The token is read from --token-file or
EDGEFLEET_AGENT_TOKEN in preference to --token, which other users can see in `ps`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import __version__

if TYPE_CHECKING:
    from agent.discovery import Announcer

DEFAULT_SPOOL = Path("/var/lib/edgefleet-agent/spool.db")
# Deployed models report each inference here (agent.inference); "off" disables it.
DEFAULT_INFERENCE_SOCKET = "/run/edgefleet-agent/inference.sock"
TOKEN_ENV = "EDGEFLEET_AGENT_TOKEN"  # noqa: S105 - a variable name, not a secret


class ConfigError(Exception):
    """Bad configuration: one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgefleet agent", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"edgefleet-agent {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure this device and push to the controller")
    run.add_argument("--controller", required=True, help="controller base URL, http(s)://HOST:PORT")
    run.add_argument("--token", help=f"device token (prefer --token-file or ${TOKEN_ENV})")
    run.add_argument("--token-file", type=Path, help="file holding the device token (mode 0600)")
    run.add_argument("--metrics-port", type=int, default=9101,
                     help="serve /metrics and /healthz here (0 = off; default 9101)")
    run.add_argument("--metrics-address", default="0.0.0.0",  # noqa: S104 - LAN scrape target
                     help="address for /metrics (default all interfaces)")
    run.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    run.add_argument("--push-interval", type=float, default=5.0, help="seconds between pushes")
    run.add_argument("--spool", type=Path, default=DEFAULT_SPOOL, help="SQLite spool file")
    run.add_argument("--spool-max-samples", type=int, default=500_000,
                     help="bound of the spool; past it the oldest samples are dropped (counted)")
    run.add_argument("--announce", action="store_true",
                     help="announce this device on the LAN over mDNS/DNS-SD (_edgefleet._tcp)")
    run.add_argument("--enrol", action="store_true",
                     help="no token: announce, wait for an operator's approval, then keep the "
                          "issued token beside the spool (0600); implies --announce")
    run.add_argument("--announce-address", action="append", metavar="IPV4",
                     help="announce (and answer mDNS) only on this address; repeatable "
                          "(default: every LAN IPv4 address)")
    run.add_argument("--inference-socket", default=DEFAULT_INFERENCE_SOCKET,
                     help="UNIX socket for live inference records from model runtimes, or off")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def _token(args: argparse.Namespace) -> str:
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read token file {args.token_file}: {exc.strerror}") from None
    else:
        token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token and not args.enrol:
        raise ConfigError(f"no device token: give --token-file, ${TOKEN_ENV}, --token or --enrol")
    return token


def _check(args: argparse.Namespace) -> None:
    if not 0.05 <= args.interval <= 3600:
        raise ConfigError("--interval must be between 0.05 and 3600 seconds")
    if not 0.1 <= args.push_interval <= 3600:
        raise ConfigError("--push-interval must be between 0.1 and 3600 seconds")
    if not 0 <= args.metrics_port <= 65535:
        raise ConfigError("--metrics-port must be 0..65535")
    if args.spool_max_samples < 1000:
        raise ConfigError("--spool-max-samples must be at least 1000")


def run(args: argparse.Namespace) -> int:
    # Imported here so `--help` and config errors stay instant on a slow board.
    from urllib.parse import urlsplit

    from agent.collectors import CollectorContext, default_collectors
    from agent.collectors.identity import device_info
    from agent.daemon import Agent, AgentConfig
    from agent.exposition import serve

    _check(args)
    token = _token(args)
    url = urlsplit(args.controller)
    ctx = CollectorContext(interval_s=args.interval, controller_host=url.hostname,
                           controller_port=url.port or (443 if url.scheme == "https" else 80),
                           inference_socket=None if args.inference_socket == "off"
                           else Path(args.inference_socket))
    announcer = None
    if args.announce or args.enrol:
        got, announcer = _announce(args, device_info(ctx), token)
        if got is None:  # stopped while waiting for approval
            announcer.close()
            return 0
        token = got
    cfg = AgentConfig(
        controller_url=args.controller, token=token, spool_path=args.spool,
        interval_s=args.interval, push_interval_s=args.push_interval,
        spool_max_samples=args.spool_max_samples, metrics_address=args.metrics_address,
        metrics_port=args.metrics_port or None,
    )
    collectors = [c for c in default_collectors(ctx) if c.applies()]
    try:
        agent = Agent(cfg, collectors, device_info(ctx))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    log = logging.getLogger("edgefleet.agent")
    log.info("agent %s for device %s: collectors %s", __version__, agent.device.get("id"),
             ", ".join(c.name for c in collectors))
    if cfg.metrics_port:
        try:
            serve(cfg.metrics_address, cfg.metrics_port, agent.metrics, agent.health)
        except OSError as exc:
            raise ConfigError(f"cannot serve /metrics on {cfg.metrics_address}:"
                              f"{cfg.metrics_port}: {exc.strerror}") from None
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.stop.set())
    # Everything loaded so far lives as long as the process: keep the cyclic GC from
    # re-scanning it on every collection (CPU per cycle on a Pi).
    gc.freeze()
    try:
        agent.run()
    finally:
        if announcer is not None:
            announcer.close()
    return 0


def _announce(args: argparse.Namespace, device: dict[str, Any],
              token: str) -> tuple[str | None, Announcer]:
    """--announce/--enrol (agent/discovery.py); without a token this waits for approval."""
    from agent import discovery

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return discovery.start(args.controller, device, args.metrics_port, args.spool.parent,
                               token, stop, args.announce_address)
    except discovery.EnrolmentError as exc:
        raise ConfigError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
