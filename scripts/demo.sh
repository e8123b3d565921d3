#!/bin/sh
# `make demo`: a small fleet, then ping, monitor, upgrade and timesync through the controller,
# model benchmarks with greedy vs advanced selection, agents, the registry and the dashboard.
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

# Model benchmarks and selection. The lab's hosts have no PyTorch (they are minimal Debian
# rootfs without internet), so the candidates are measured on this machine as a device; on a
# real fleet `POST /api/benchmarks/run` runs playbooks/bench.yml on each device instead.
bench_json="$EDGEFLEET_HOME/demo-bench.json"
$EF bench resnet18 resnet50 resnet152 mobilenet_v2 --variant fp32 --iterations 60 --warmup 5 \
    --throughput-batch 0 --zone "${EDGEFLEET_DEMO_ZONE:-DE}" --output "$bench_json" || status=1
for mode in "points 10" "relative 0.10"; do
    set -- $mode
    $EF select --results "$bench_json" --budget-ms 150 --acc-drop-mode "$1" \
        --max-acc-drop "$2" || status=1
done

if [ "$(id -u)" = 0 ]; then
    # The controller serves the lab on its bridge address so the agents can push to it.
    bridge=$($EF lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["controller_address"])')
    url="http://$bridge:8080"
    token_file="$EDGEFLEET_HOME/admin-token"
    [ -s "$token_file" ] || (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))' > "$token_file")
    pidfile="$EDGEFLEET_HOME/controller.pid"
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "controller already running (pid $(cat "$pidfile"))"
    else
        EDGEFLEET_API_TOKEN=$(cat "$token_file") nohup $EF controller serve --host "$bridge" \
            --port 8080 --inventory "$inventory" > "$EDGEFLEET_HOME/controller.log" 2>&1 &
        echo $! > "$pidfile"
        for _ in $(seq 1 50); do
            .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('$url/healthz').status_code != 200)" 2>/dev/null && break
            sleep 0.2
        done
    fi
    $EF agent install --inventory "$inventory" --controller-url "$url" || status=1
    # Model registry on the bridge: verify per arch, build what is missing, deploy by digest.
    scripts/demo-registry.sh "$bridge" "$inventory" || status=1
    echo "agents installed; live figures for 15 s:"
    $EF devices --watch 3 --count 5
    cat <<MSG

The demo fleet stays up:
  controller  $url   (admin token in $token_file, log $EDGEFLEET_HOME/controller.log)
  dashboard   $url/ui/fleet   (log in with that admin token)
  inventory   $inventory
  registry    http://$bridge:5000   (edgefleet registry ls --url http://$bridge:5000)
  watch it    EDGEFLEET_HOME=$EDGEFLEET_HOME .venv/bin/edgefleet devices --watch 2
  stop it     make demo-stop
MSG
fi
exit $status
