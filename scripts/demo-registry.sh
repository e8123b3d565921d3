#!/bin/sh
# Part of `make demo` (root): a registry for the demo fleet on the lab bridge, then per arch
# verify -> build what is missing -> verify again -> deploy by digest.
# Arguments: bridge address, inventory.
set -eu
cd "$(dirname "$0")/.."
EF=.venv/bin/edgefleet
PY=.venv/bin/python
bridge=$1 inventory=$2
dir="$EDGEFLEET_HOME/registry"
url="http://$bridge:5000"
pidfile="$EDGEFLEET_HOME/registry.pid"
mkdir -p "$dir"
if ! { [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
    cat > "$dir/config.yml" <<CFG
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: "$bridge:5000"}
CFG
    nohup docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 50); do
        $PY -c "import httpx,sys; sys.exit(httpx.get('$url/v2/').status_code != 200)" 2>/dev/null && break
        sleep 0.2
    done
fi
$PY scripts/demo_registry.py base "$url" "$dir/work"
printf 'cat 1 0 0\ndog 0 1 0\nbird 0 0 1\n' > "$dir/demo-weights.txt"
status=0
# group arch runner: the emulated arm64 hosts predict in a chroot (runc can't run under qemu-user).
for spec in "rpi aarch64 rootfs" "gpu x86_64 container"; do
    set -- $spec
    group=$1 arch=$2 runner=$3
    if ! $EF registry verify --url "$url" --arch "$arch" --task image-classification \
            --model demo-net; then
        echo "demo: building the missing $arch image"
        $EF registry build --url "$url" --arch "$arch" --task image-classification \
            --model demo-net --weights "$dir/demo-weights.txt" --base runtime/busybox:1
    fi
    $EF registry verify --url "$url" --arch "$arch" --task image-classification \
        --model demo-net --json > "$dir/verify-$arch.json"
    $PY scripts/demo_registry.py extravars "$dir/verify-$arch.json" "$runner" > "$dir/deploy-$arch.json"
    $EF run deploy_model --inventory "$inventory" --limit "$group" -e "@$dir/deploy-$arch.json" \
        || status=1
done
$EF registry ls --url "$url"
exit $status
