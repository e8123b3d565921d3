"""Runtime base images built here from Debian packages and wheels, no registry pulls.

One job per module: `runtime_rootfs` (cached debootstrap with python3), `site_packages`
(cached pinned pip --target per arch) and `runtime` (layers, config, push, index)."""
