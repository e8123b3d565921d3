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
# The runtime bases (Debian + python3 + PyTorch CPU per arch, built here by debootstrap and
# pip; cached after the first demo), then per arch: verify -> build what is missing ->
# verify again -> deploy by digest. Each device then serves its model on port 8500.
$EF registry runtime --url "$url" --arch amd64 --arch arm64
status=0
# group arch model size: the emulated arm64 hosts run ~3000x slower than native arm64, so
# they get the small model at 64 px; the amd64 hosts get resnet18 at its card's 224 px.
for spec in "rpi aarch64 mobilenet_v2 64" "gpu x86_64 resnet18 224"; do
    set -- $spec
    group=$1 arch=$2 model=$3 size=$4
    if ! $EF registry verify --url "$url" --arch "$arch" --task image-classification \
            --model "$model"; then
        echo "demo: building the missing $arch image of $model"
        $EF registry build --url "$url" --arch "$arch" --task image-classification \
            --model "$model" --input-size "$size"
    fi
    $EF registry verify --url "$url" --arch "$arch" --task image-classification \
        --model "$model" --json > "$dir/verify-$arch.json"
    $PY scripts/demo_registry.py "$dir/verify-$arch.json" > "$dir/deploy-$arch.json"
    $EF run deploy_model --inventory "$inventory" --limit "$group" -e "@$dir/deploy-$arch.json" \
        || status=1
done
$EF registry ls --url "$url"
exit $status
