"""The device's container engine, shared by edgefleet_deploy and edgefleet_image_run.

One place for what both modules must do the same way: find Podman or Docker, pass the
inventory's engine flags, pull by digest without rewriting any engine config, name the
device's and an image's OCI platform, and run an image's own files chrooted in a private
mount namespace where runc cannot start a container (the lab's emulated arm64 hosts).
Every engine command is an argv list: nothing from the registry or the request reaches a
shell.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

from ansible.module_utils.edgefleet_platform import platform_of

# The chroot runner, run under `unshare --mount`: private mounts of the host's kernel views,
# fresh tmpfs /tmp and /run, the caller's bind mounts (JSON [[src, dst, read_only], ...]),
# then chroot and exec the command. A fixed program: its only inputs are argv entries,
# never spliced into code or a shell.
_LAUNCHER = r"""
import json, os, subprocess, sys
root, binds, argv = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
for sub in ("proc", "sys", "dev"):
    subprocess.run(["mount", "--rbind", "/" + sub, os.path.join(root, sub)], check=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(root, "tmp")], check=True)
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", os.path.join(root, "run")], check=True)
for src, dst, read_only in binds:
    inner = os.path.join(root, dst.lstrip("/"))
    os.makedirs(inner, exist_ok=True)
    subprocess.run(["mount", "--bind", src, inner], check=True)
    if read_only:
        subprocess.run(["mount", "-o", "remount,bind,ro", inner], check=True)
os.chroot(root)
os.chdir("/")
os.execvpe(argv[0], argv, os.environ)
"""


class StageError(Exception):
    """A step failed; `stage` (engine, arch, image, health, ...) tells the operator which."""

    def __init__(self, stage, message):
        super().__init__(message)
        self.stage = stage


class Engine:
    """Podman or Docker with the site's global flags (`base`) and extra `run` flags."""

    def __init__(self, kind, global_args=(), run_args=()):
        self.kind = kind
        self.base = [kind] + list(global_args)
        self.run_args = list(run_args)

    def run(self, args, timeout=600, check=True):
        proc = subprocess.run(self.base + args, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise StageError("engine", f"{self.kind} {args[0]} failed: "
                             f"{(proc.stderr or proc.stdout).strip()[-400:]}")
        return proc

    def inspect(self, ref):
        data = json.loads(self.run(["image", "inspect", ref]).stdout)
        return data[0] if isinstance(data, list) else data


def detect_engine(wanted, global_args=(), run_args=()):
    for kind in ([wanted] if wanted != "auto" else ["podman", "docker"]):
        if shutil.which(kind):
            return Engine(kind, global_args, run_args)
    raise StageError("engine", "no container engine (podman or docker) on this device: "
                     "run playbooks/container_engine.yml first")


def pull_args(engine, ref, insecure):
    """Podman: per-pull `--tls-verify=false` (no config file touched). Docker: never rewrite
    daemon.json (it may hold the NVIDIA runtime); only check the registry is listed there."""
    if engine.kind == "podman":
        return ["pull", "--quiet"] + (["--tls-verify=false"] if insecure else []) + [ref]
    if insecure:
        registry = ref.split("/", 1)[0]
        try:
            with open("/etc/docker/daemon.json") as fh:
                listed = json.load(fh).get("insecure-registries", [])
        except (OSError, ValueError):
            listed = []
        if registry not in listed:
            raise StageError("engine", f"Docker must list {registry} in insecure-registries "
                             "of /etc/docker/daemon.json (edgefleet never rewrites that file)")
    return ["pull", ref]


def check_digest(digest):
    """A one-line reason when `digest` is not sha256:<64 hex>, else None."""
    if (digest.startswith("sha256:") and len(digest) == 71
            and all(c in "0123456789abcdef" for c in digest[7:])):
        return None
    return f"digest {digest!r} is not sha256:<64 hex>"


def check_repository(image):
    """A one-line reason when `image` is not a bare repository (no tag, digest or space)."""
    if "@" in image or not image or any(c.isspace() for c in image):
        return f"image {image!r} must be a repository without tag or digest"
    return None


def image_platform(info):
    return platform_of(info.get("Architecture"), info.get("Variant", ""), info.get("Os"))


def check_platform(info, host_platform):
    """The image's platform; an `arch` error when this device cannot run it natively."""
    got = image_platform(info)
    if got != host_platform:
        raise StageError("arch", f"image is {got}, this device is {host_platform}")
    return got


def image_config(info):
    return info.get("Config") or {}


def image_env(info):
    """The image config's Env as a dict (what the image's own processes expect)."""
    return dict(e.split("=", 1) for e in image_config(info).get("Env") or [] if "=" in e)


def rootfs_argv(root, argv, binds=()):
    """The argv that runs `argv` chrooted into a mounted image in a private mount namespace.

    `binds` are (src, dst, read_only) triples; run it with the image's Env (image_env)."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    python = shutil.which("python3") or "/usr/bin/python3"
    return [unshare, "--mount", "--propagation", "private", "--", python, "-c", _LAUNCHER,
            root, json.dumps([[str(s), str(d), bool(ro)] for s, d, ro in binds]), *argv]


def mount_image(engine, ref):
    """`image mount`: the image's files as a directory (unmount with unmount_image)."""
    return engine.run(["image", "mount", ref]).stdout.strip()


def unmount_image(engine, ref):
    engine.run(["image", "unmount", ref], check=False)


def kill_group(pid, grace_s=10.0):
    """SIGTERM the process group `pid`, SIGKILL what is left after `grace_s`."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
