#!/usr/bin/python
"""Pull an image by digest and run one command inside it to completion (bench.yml's runner).

The device needs no Python packages of its own: the image brings them (the runtime image:
PyTorch, Pillow, numpy and edgefleet's `bench`/`agent`). An index digest is fine: the
engine picks the device's platform from it, and the pulled image must then be that
platform. The command runs in a throw-away container with no network (`run --rm
--network none`, plus the inventory's engine and run flags) or, with runner=rootfs (the
lab's emulated hosts, where runc cannot start under qemu-user), chrooted into the image's
files in a private mount namespace, the same launcher edgefleet_deploy serves from.

The result says whether the command ran emulated: the kernel's own architecture
(/proc/sys/kernel/arch, which qemu-user does not rewrite, unlike `uname -m`) differs from
the image's, or, on kernels without that file, binfmt_misc hands the image's ELF machine to
an interpreter (qemu). A benchmark measured under emulation is not the device's speed.
"""

import os
import platform
import subprocess
import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.edgefleet_engine import (
    StageError,
    check_digest,
    check_platform,
    check_repository,
    detect_engine,
    image_env,
    kill_group,
    mount_image,
    pull_args,
    rootfs_argv,
    unmount_image,
)
from ansible.module_utils.edgefleet_platform import emulation, platform_of

DOCUMENTATION = r"""
module: edgefleet_image_run
short_description: Pull an image by digest and run one argv inside it to completion
options:
  image: {type: str, required: true, description: "HOST[:PORT]/REPO, no tag"}
  digest: {type: str, required: true, description: sha256 digest (index or platform manifest).}
  argv: {type: list, elements: str, required: true, description: Command run in the image.}
  mounts:
    type: list
    elements: dict
    default: []
    description: >-
      Read-only bind mounts, each {src: path on the device, dst: path in the image}.
  timeout: {type: int, default: 3600, description: Seconds the command may run.}
  engine: {type: str, default: auto, description: auto, podman or docker.}
  insecure_registry: {type: bool, default: false, description: Plain-HTTP registry.}
  runner:
    type: str
    default: container
    description: >-
      container (engine run --rm --network none) or rootfs (chrooted into the mounted
      image; only for emulated lab hosts, where runc cannot start).
  engine_args: {type: list, elements: str, default: [], description: Global engine flags.}
  run_args: {type: list, elements: str, default: [], description: Extra flags for `run`.}
"""

_TAIL_CHARS = 2000
def _tail(text):
    return (text or "")[-_TAIL_CHARS:]


def run_container(engine, ref, argv, mounts, timeout):
    name = f"edgefleet-run-{uuid.uuid4().hex[:12]}"
    volumes = [a for m in mounts for a in ("--volume", f"{m['src']}:{m['dst']}:ro")]
    try:
        proc = engine.run(["run", "--rm", "--name", name, "--network", "none", *volumes,
                           *engine.run_args, ref, *argv], timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        engine.run(["rm", "--force", name], check=False)
        raise StageError("timeout", f"{argv[0]} ran past {timeout} s: stopped") from None
    return proc.returncode, proc.stdout, proc.stderr


def run_rootfs(engine, ref, info, argv, mounts, timeout):
    root = mount_image(engine, ref)
    try:
        proc = subprocess.Popen(
            rootfs_argv(root, argv, [(m["src"], m["dst"], True) for m in mounts]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True, env=image_env(info), close_fds=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.communicate()
            raise StageError("timeout", f"{argv[0]} ran past {timeout} s: stopped") from None
        return proc.returncode, out, err
    finally:
        unmount_image(engine, ref)


def main():
    module = AnsibleModule(
        argument_spec={
            "image": {"type": "str", "required": True},
            "digest": {"type": "str", "required": True},
            "argv": {"type": "list", "elements": "str", "required": True},
            "mounts": {"type": "list", "elements": "dict", "default": []},
            "timeout": {"type": "int", "default": 3600},
            "engine": {"type": "str", "default": "auto", "choices": ["auto", "podman", "docker"]},
            "insecure_registry": {"type": "bool", "default": False},
            "runner": {"type": "str", "default": "container", "choices": ["container", "rootfs"]},
            "engine_args": {"type": "list", "elements": "str", "default": []},
            "run_args": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=False,
    )
    p = module.params
    for problem in (check_digest(p["digest"]), check_repository(p["image"])):
        if problem:
            module.fail_json(msg=problem)
    if not p["argv"]:
        module.fail_json(msg="argv must name a command")
    if p["timeout"] < 1:
        module.fail_json(msg=f"timeout {p['timeout']} must be at least 1 s")
    mounts = []
    for m in p["mounts"]:
        src, dst = str(m.get("src") or ""), str(m.get("dst") or "")
        if not (os.path.isabs(src) and os.path.isabs(dst)) or ":" in src + dst:
            module.fail_json(msg=f"mount {m!r}: src and dst must be absolute paths without ':'")
        if not os.path.exists(src):
            module.fail_json(msg=f"mount source {src} is not on this device")
        mounts.append({"src": src, "dst": dst})
    ref = f"{p['image']}@{p['digest']}"
    result = {"image": p["image"], "digest": p["digest"], "runner": p["runner"],
              "engine": None, "platform": None}
    try:
        engine = detect_engine(p["engine"], p["engine_args"], p["run_args"])
        result["engine"] = engine.kind
        engine.run(pull_args(engine, ref, p["insecure_registry"]))
        info = engine.inspect(ref)
        result["platform"] = check_platform(info, platform_of(platform.machine()))
        result.update(emulation(result["platform"].split("/")[1]))
        if p["runner"] == "rootfs":
            rc, out, err = run_rootfs(engine, ref, info, p["argv"], mounts, p["timeout"])
        else:
            rc, out, err = run_container(engine, ref, p["argv"], mounts, p["timeout"])
    except (StageError, subprocess.TimeoutExpired, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc), stage=getattr(exc, "stage", "engine"), **result)
    result.update(rc=rc, stdout=out, stderr_tail=_tail(err))
    if rc != 0:
        last = " | ".join(line for line in _tail(err).strip().splitlines()[-3:] if line)
        module.fail_json(msg=f"{p['argv'][0]} exited {rc}: {last or 'no output on stderr'}",
                         stage="run", **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
