#!/bin/sh
# `make demo`: a small fleet, then ping, monitor, upgrade and timesync through the controller.
# As root the fleet is a real lab (arm64 `rpi` + amd64 `gpu` hosts over SSH); without root
# it is this machine reached through Ansible's local connection, and only the read-only
# operations run (upgrade and timesync would change this machine).
set -eu
cd "$(dirname "$0")/.."
EF=.venv/bin/edgefleet
export EDGEFLEET_HOME="${EDGEFLEET_HOME:-$PWD/.edgefleet}"

if [ "$(id -u)" = 0 ]; then
    if ! $EF lab status >/dev/null 2>&1; then
        $EF lab down >/dev/null 2>&1 || true
        $EF lab up --rpi 2 --gpu 1
    fi
    $EF lab status
    inventory=$($EF lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["inventory"])')
    playbooks="ping monitor upgrade timesync"
else
    echo "demo: not root, so no lab; using this machine through Ansible's local connection"
    inventory="$EDGEFLEET_HOME/demo-local.yml"
    mkdir -p "$EDGEFLEET_HOME"
    cat > "$inventory" <<INV
# Two local "devices" for a demo without root: both are this machine.
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: $PWD/.venv/bin/python
    edgefleet_speedtest: false
  children:
    rpi:
      hosts:
        local-rpi: {}
    gpu:
      hosts:
        local-gpu: {}
INV
    playbooks="ping monitor"
fi

status=0
for playbook in $playbooks; do
    $EF run "$playbook" --inventory "$inventory" || status=1
done
if [ "$(id -u)" = 0 ]; then
    echo "The lab stays up for you: inventory $inventory; remove it with \`make lab-down\`."
fi
exit $status
