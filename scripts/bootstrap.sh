#!/bin/sh
# One-time set-up, safe to re-run: Debian packages (when root), the .venv and the project.
# `make demo` and `make test` call this first, so a fresh clone needs nothing else.
set -eu
cd "$(dirname "$0")/.."

DEB_PACKAGES="debootstrap qemu-user-static binfmt-support chrony iperf3 openssh-client \
dpkg-dev iproute2 procps util-linux prometheus prometheus-alertmanager postgresql docker-compose chromium \
docker-registry skopeo podman buildah runc busybox-static"

missing=""
for pkg in $DEB_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "bootstrap: installing Debian packages:$missing"
        apt-get update -qq
        # policy-rc.d keeps chrony's postinst from starting a daemon on this machine.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
        rm -f /usr/sbin/policy-rc.d
    else
        echo "bootstrap: not root, skipping Debian packages:$missing (lab tests will be skipped)"
    fi
fi

# The registry tests' arm64 base image needs an arm64 static busybox: fetched once with apt
# into a cache, through a private arm64 package list (the machine's dpkg is not touched).
ARM64_BUSYBOX=/var/cache/edgefleet/busybox-arm64/busybox
if [ "$(id -u)" = 0 ] && [ ! -x "$ARM64_BUSYBOX" ]; then
    dir=$(dirname "$ARM64_BUSYBOX"); mkdir -p "$dir/lists/partial"
    opts="-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists=$dir/lists"
    if apt-get $opts update -qq && (cd "$dir" && apt-get $opts download -qq busybox-static:arm64); then
        dpkg-deb -x "$dir"/busybox-static_*_arm64.deb "$dir/pkg"
        cp "$dir/pkg/bin/busybox" "$ARM64_BUSYBOX"
        rm -rf "$dir/pkg" "$dir/lists" "$dir"/*.deb
    else
        echo "bootstrap: could not fetch busybox-static:arm64 (arm64 registry tests will fail)"
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.edgefleet-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    # torch first and pinned, so the project's resolve never picks a newer (CUDA) build.
    .venv/bin/pip install -q torch==2.13.0
    .venv/bin/pip install -q -e '.[test,postgres,bench]'
    touch "$stamp"
fi
