#!/usr/bin/python
"""Deploy one model image on a device, by digest, with a health check and rollback.

One module run per host (emulated/low-end arm64 boards pay seconds per task): pull
`image@digest` with the device's engine (Podman or Docker), check the image's platform
against the device's own `uname -m` and the expected one, check the model labels exactly,
run a test prediction, and only then make the digest current. Any failure leaves (or
restores) the previous digest as current, after re-checking that it still answers.

Every engine command is an argv list: nothing from the registry or the request reaches a shell.
"""

import json
import os
import platform
import shutil
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: edgefleet_deploy
short_description: Pull a model image by digest, check it, test it, make it current or roll back
options:
  name: {type: str, required: true, description: Deployment name (one current digest each).}
  image: {type: str, required: true, description: "HOST[:PORT]/models/TASK/MODEL, no tag"}
  digest: {type: str, required: true, description: sha256 manifest digest to deploy.}
  expected_platform: {type: str, description: OCI platform the image must be (linux/arm64).}
  expected_labels: {type: dict, default: {}, description: Labels that must equal exactly.}
  health_cmd: {type: list, elements: str, default: [], description: Test prediction argv.}
  health_timeout: {type: int, default: 120, description: Seconds the prediction may take.}
  engine: {type: str, default: auto, description: auto, podman or docker.}
  insecure_registry: {type: bool, default: false, description: Plain-HTTP registry.}
  runner:
    type: str
    default: container
    description: >-
      container (engine run) or rootfs (chroot into the mounted image; only for emulated
      lab hosts, where runc cannot start containers under qemu-user).
  state_dir: {type: path, default: /var/lib/edgefleet/deploy, description: Digest records.}
  engine_args:
    type: list
    elements: str
    default: []
    description: >-
      Global engine flags before every command (e.g. a sandbox's `--storage-driver vfs`);
      none by default, so a real device uses its engine's own configured store and runtime.
  run_args: {type: list, elements: str, default: [], description: Extra flags for `run`.}
"""

_ARCH = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", ""),
         "arm64": ("arm64", ""), "armv7l": ("arm", "v7"), "armhf": ("arm", "v7"),
         "arm": ("arm", "v7"), "armv6l": ("arm", "v6")}
# A test prediction needs no network; anything else the device's engine needs comes from
# the inventory (engine_args/run_args), never from here.
RUN_FLAGS = ["--network", "none"]


class DeployError(Exception):
    def __init__(self, stage, message):
        super().__init__(message)
        self.stage = stage


def platform_of(arch, variant="", os_name="linux"):
    arch = (arch or "").lower()
    norm, implied = _ARCH.get(arch, (arch, ""))
    variant = (variant or "").lower()
    if norm in ("arm64", "amd64"):
        variant = ""
    elif norm == "arm":
        variant = variant or implied
    return "/".join(p for p in ((os_name or "linux").lower(), norm, variant) if p)


class Engine:
    def __init__(self, kind, global_args=(), run_args=()):
        self.kind = kind
        self.base = [kind] + list(global_args)
        self.run_flags = RUN_FLAGS + list(run_args)

    def run(self, args, timeout=600, check=True):
        proc = subprocess.run(self.base + args, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise DeployError("engine", f"{self.kind} {args[0]} failed: "
                              f"{(proc.stderr or proc.stdout).strip()[-400:]}")
        return proc

    def inspect(self, ref):
        data = json.loads(self.run(["image", "inspect", ref]).stdout)
        return data[0] if isinstance(data, list) else data


def detect_engine(wanted, global_args=(), run_args=()):
    for kind in ([wanted] if wanted != "auto" else ["podman", "docker"]):
        if shutil.which(kind):
            return Engine(kind, global_args, run_args)
    raise DeployError("engine", "no container engine (podman or docker): run container_engine.yml")


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
            raise DeployError("engine", f"Docker must list {registry} in insecure-registries "
                              "of /etc/docker/daemon.json (edgefleet never rewrites that file)")
    return ["pull", ref]


def image_platform(info):
    return platform_of(info.get("Architecture"), info.get("Variant", ""), info.get("Os"))


def image_labels(info):
    labels = info.get("Labels") or (info.get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def image_env(info):
    return list((info.get("Config") or {}).get("Env") or [])


def predict(engine, ref, info, cmd, runner, timeout):
    """Run the test prediction; its last stdout line must be a JSON object without `error`."""
    if runner == "rootfs":
        mount = engine.run(["image", "mount", ref]).stdout.strip()
        try:
            env = dict(e.split("=", 1) for e in image_env(info) if "=" in e)
            argv = cmd or list((info.get("Config") or {}).get("Cmd") or [])
            # The image's env replaces ours (PATH too), so find chroot before switching.
            chroot = shutil.which("chroot") or "/usr/sbin/chroot"
            proc = subprocess.run([chroot, mount] + argv, capture_output=True, text=True,
                                  timeout=timeout, env=env)
        finally:
            engine.run(["image", "unmount", ref], check=False)
    else:
        proc = subprocess.run(engine.base + ["run", "--rm"] + engine.run_flags + [ref] + list(cmd),
                              capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise DeployError("health", f"test prediction exited {proc.returncode}: "
                          f"{(proc.stderr or proc.stdout).strip()[-300:]}")
    try:
        result = json.loads(lines[-1])
    except ValueError:
        raise DeployError("health", f"test prediction printed no JSON: {lines[-1][:200]}") from None
    if not isinstance(result, dict) or "error" in result:
        raise DeployError("health", f"test prediction failed: {lines[-1][:200]}")
    return result


def load_state(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def save_state(path, state):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh)
    os.replace(tmp, path)


def check_image(engine, ref, p, host_platform):
    info = engine.inspect(ref)
    got = image_platform(info)
    if got != host_platform:
        raise DeployError("arch", f"image is {got}, this device is {host_platform}")
    expected = p["expected_platform"]
    if expected and got != platform_of(*(expected.split("/")[1:] + [""])[:2]):
        raise DeployError("arch", f"image is {got}, deployment expects {p['expected_platform']}")
    labels = image_labels(info)
    for key, want in (p["expected_labels"] or {}).items():
        if labels.get(key) != str(want):
            raise DeployError("labels", f"label {key}={labels.get(key)!r}, expected {want!r}")
    return info


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "image": {"type": "str", "required": True},
            "digest": {"type": "str", "required": True},
            "expected_platform": {"type": "str", "default": None},
            "expected_labels": {"type": "dict", "default": {}},
            "health_cmd": {"type": "list", "elements": "str", "default": []},
            "health_timeout": {"type": "int", "default": 120},
            "engine": {"type": "str", "default": "auto", "choices": ["auto", "podman", "docker"]},
            "insecure_registry": {"type": "bool", "default": False},
            "runner": {"type": "str", "default": "container", "choices": ["container", "rootfs"]},
            "state_dir": {"type": "path", "default": "/var/lib/edgefleet/deploy"},
            "engine_args": {"type": "list", "elements": "str", "default": []},
            "run_args": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=False,
    )
    p = module.params
    digest, image = p["digest"], p["image"]
    if not (digest.startswith("sha256:") and len(digest) == 71
            and all(c in "0123456789abcdef" for c in digest[7:])):
        module.fail_json(msg=f"digest {digest!r} is not sha256:<64 hex>")
    if "@" in image or not image or any(c.isspace() for c in image):
        module.fail_json(msg=f"image {image!r} must be a repository without tag or digest")
    if not p["name"].replace("-", "").replace("_", "").isalnum():
        module.fail_json(msg=f"deployment name {p['name']!r} must be letters, digits, - and _")
    state_path = os.path.join(p["state_dir"], p["name"] + ".json")
    state = load_state(state_path)
    previous = state.get("current")
    host_platform = platform_of(platform.machine())
    ref = f"{image}@{digest}"
    result = {"name": p["name"], "image": image, "digest": digest, "previous": previous,
              "platform": host_platform, "engine": None, "status": "failed",
              "prediction": None, "error": None, "stage": None, "rolled_back_to": None}
    changed = False
    try:
        engine = detect_engine(p["engine"], p["engine_args"], p["run_args"])
        result["engine"] = engine.kind
        engine.run(pull_args(engine, ref, p["insecure_registry"]))
        info = check_image(engine, ref, p, host_platform)
        result["labels"] = {k: v for k, v in image_labels(info).items()
                            if k.startswith("io.edgefleet.")}
        result["prediction"] = predict(engine, ref, info, p["health_cmd"], p["runner"],
                                       p["health_timeout"])
        if previous and previous.get("digest") == digest:
            result["status"] = "unchanged"
        else:
            save_state(state_path, {"current": {"image": image, "digest": digest},
                                    "previous": previous})
            result["status"] = "deployed"
            changed = True
    except (DeployError, subprocess.TimeoutExpired, ValueError, OSError) as exc:
        result["error"] = str(exc)
        result["stage"] = getattr(exc, "stage", "timeout")
        if previous and previous.get("digest") != digest and result["engine"]:
            # Roll back: the previous digest stays current, after proving it still answers.
            try:
                prev_ref = f"{previous['image']}@{previous['digest']}"
                prev_info = engine.inspect(prev_ref)
                predict(engine, prev_ref, prev_info, p["health_cmd"], p["runner"],
                        p["health_timeout"])
                result["status"] = "rolled_back"
                result["rolled_back_to"] = previous["digest"]
            except (DeployError, subprocess.TimeoutExpired, ValueError, OSError) as again:
                result["error"] += f"; rollback check failed too: {again}"
    module.exit_json(changed=changed, deploy=result)


if __name__ == "__main__":
    main()
