#!/bin/sh
# `make demo`: a small fleet and a controller, then ping, monitor, upgrade and timesync,
# agents, the registry (runtime bases and model images per arch), every device serving its
# model, benchmarks on the devices, the greedy-vs-advanced experiment, and the dashboard URL.
# As root the fleet is a real lab (arm64 `rpi` + amd64 `gpu` hosts over SSH); without root
# it is this machine reached through Ansible's local connection, and only the read-only
# operations run (upgrade and timesync would change this machine).
#
# Everything the demo does lands in the controller's store, so every dashboard page shows it.
# A second demo beside the first (tests/lab/test_demo.py) sets EDGEFLEET_HOME,
# EDGEFLEET_LAB_DIR and EDGEFLEET_DEMO_SUBNET / _BRIDGE / _PREFIX / _PORT.
set -eu
cd "$(dirname "$0")/.."
EF=.venv/bin/edgefleet
PY=.venv/bin/python
export EDGEFLEET_HOME="${EDGEFLEET_HOME:-$PWD/.edgefleet}"
mkdir -p "$EDGEFLEET_HOME"
port="${EDGEFLEET_DEMO_PORT:-8080}"

if [ "$(id -u)" = 0 ]; then
    if ! $EF lab status >/dev/null 2>&1; then
        $EF lab down >/dev/null 2>&1 || true
        $EF lab up --rpi 2 --gpu 1 ${EDGEFLEET_DEMO_SUBNET:+--subnet "$EDGEFLEET_DEMO_SUBNET"} \
            ${EDGEFLEET_DEMO_BRIDGE:+--bridge "$EDGEFLEET_DEMO_BRIDGE"} \
            ${EDGEFLEET_DEMO_PREFIX:+--prefix "$EDGEFLEET_DEMO_PREFIX"}
    fi
    $EF lab status
    lab_field() { $EF lab status --json | $PY -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
    inventory=$(lab_field inventory)
    # The controller and the registry serve the lab on its bridge, so agents and hosts reach them.
    listen=$(lab_field controller_address)
    registry_url="http://$listen:5000"
    playbooks="ping monitor upgrade timesync"
else
    echo "demo: not root, so no lab; using this machine through Ansible's local connection"
    inventory="$EDGEFLEET_HOME/demo-local.yml"
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
    listen=127.0.0.1
    registry_url=""  # no docker-registry without root's packages: the Registry page says so
    playbooks="ping monitor"
fi

url="http://$listen:$port"
token_file="$EDGEFLEET_HOME/admin-token"
[ -s "$token_file" ] || (umask 077 && $PY -c 'import secrets; print(secrets.token_urlsafe(24))' > "$token_file")
EDGEFLEET_API_TOKEN=$(cat "$token_file")
export EDGEFLEET_API_TOKEN
pidfile="$EDGEFLEET_HOME/controller.pid"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "controller already running (pid $(cat "$pidfile"))"
else
    nohup $EF controller serve --host "$listen" --port "$port" --inventory "$inventory" \
        ${registry_url:+--registry-url "$registry_url"} > "$EDGEFLEET_HOME/controller.log" 2>&1 &
    echo $! > "$pidfile"
    up=0
    for _ in $(seq 1 100); do
        $PY -c "import httpx,sys; sys.exit(httpx.get('$url/healthz').status_code != 200)" 2>/dev/null && up=1 && break
        sleep 0.2
    done
    if [ "$up" != 1 ]; then
        echo "demo: the controller did not start; its log:" >&2
        cat "$EDGEFLEET_HOME/controller.log" >&2
        exit 1
    fi
fi

status=0
for playbook in $playbooks; do
    $EF run "$playbook" --inventory "$inventory" || status=1
done

if [ "$(id -u)" = 0 ]; then
    $EF agent install --inventory "$inventory" --controller-url "$url" || status=1
    # Model registry on the bridge: runtime bases per arch, verify, build what is missing,
    # deploy by digest; every device then serves its model on port 8500.
    scripts/demo-registry.sh "$listen" "$inventory" || status=1
    # Benchmarks ON the devices, in the runtime image (the emulated arm64 hosts run ~3000x
    # slower than native: tiny input, few iterations; their rows say emulated).
    $EF bench-fleet resnet18 resnet50 mobilenet_v2 --controller "$url" --limit gpu \
        --variant fp32 --iterations 30 || status=1
    $EF bench-fleet mobilenet_v2 --controller "$url" --limit rpi --variant fp32 \
        --iterations 5 --warmup 1 --input-size 32 || status=1
    # The seed experiment on the amd64 devices: greedy vs advanced chosen from each device's
    # stored results under its live load, both deployed and measured on the device.
    $EF experiment --controller "$url" --limit gpu --budget-ms 150 --max-acc-drop 10 \
        --acc-drop-mode points --images 4 || status=1
    echo "agents installed; live figures for 15 s:"
    $EF devices --watch 3 --count 5
else
    # Without root there are no devices to measure: benchmark here, stored under this
    # machine's name (the Models page shows them), and select offline.
    bench_json="$EDGEFLEET_HOME/demo-bench.json"
    $EF bench resnet18 mobilenet_v2 --variant fp32 --iterations 60 --warmup 5 \
        --throughput-batch 0 --zone "${EDGEFLEET_DEMO_ZONE:-DE}" --output "$bench_json" \
        --controller "$url" || status=1
    $EF select --results "$bench_json" --budget-ms 150 --acc-drop-mode points \
        --max-acc-drop 10 || status=1
fi
cat <<MSG

The demo stays up:
  controller  $url   (admin token in $token_file, log $EDGEFLEET_HOME/controller.log)
  dashboard   $url/ui/fleet   (log in with that admin token)
  inventory   $inventory
MSG
[ -z "$registry_url" ] || echo "  registry    $registry_url   (edgefleet registry ls --url $registry_url)"
cat <<MSG
  watch it    EDGEFLEET_HOME=$EDGEFLEET_HOME .venv/bin/edgefleet devices --watch 2
  stop it     make demo-stop
MSG
exit $status
