#!/bin/sh
# `make demo-stop`: stop the demo's controller (by its recorded PID) and remove the lab.
set -eu
cd "$(dirname "$0")/.."
EDGEFLEET_HOME="${EDGEFLEET_HOME:-$PWD/.edgefleet}"
pidfile="$EDGEFLEET_HOME/controller.pid"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" && echo "controller stopped"
fi
rm -f "$pidfile"
registry_pid="$EDGEFLEET_HOME/registry.pid"
if [ -s "$registry_pid" ] && kill -0 "$(cat "$registry_pid")" 2>/dev/null; then
    kill "$(cat "$registry_pid")" && echo "registry stopped"
fi
rm -f "$registry_pid"
if [ "$(id -u)" = 0 ]; then
    .venv/bin/edgefleet lab down
fi
