#!/usr/bin/python
"""Deploy one model image on a device as a long-running service, by digest, blue/green.

One module run per host (emulated/low-end arm64 boards pay seconds per task): pull
`image@digest` with the device's engine (Podman or Docker), check the image's platform
against the device's own `uname -m` and the expected one, check the model labels exactly,
start the image's server as a candidate on a side port and make it predict a real encoded
image, and only then switch: stop the current service, start the new one on the service
port, check it predicts again, and record the digest as current. Any failure stops the new
service and brings the previous one back (and re-checks that it predicts).

Services: a container (`--restart always`, host network so the device's port answers) or,
with runner=rootfs (emulated lab hosts only: runc cannot start a container under
qemu-user), the same image's files run by a detached process in a private mount namespace
chrooted into `image mount`. Every engine command is an argv list: nothing from the
registry or the request reaches a shell.
"""

import json
import os
import platform
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.edgefleet_engine import (
    StageError,
    check_digest,
    check_platform,
    check_repository,
    detect_engine,
    image_config,
    image_env,
    kill_group,
    mount_image,
    pull_args,
    rootfs_argv,
    unmount_image,
)
from ansible.module_utils.edgefleet_platform import platform_of

DOCUMENTATION = r"""
module: edgefleet_deploy
short_description: Pull a model image by digest, serve it, health-check it, switch or roll back
options:
  name: {type: str, required: true, description: Deployment name (one service each).}
  image: {type: str, required: true, description: "HOST[:PORT]/models/TASK/MODEL, no tag"}
  digest: {type: str, required: true, description: sha256 manifest digest to deploy.}
  expected_platform: {type: str, description: OCI platform the image must be (linux/arm64).}
  expected_labels: {type: dict, default: {}, description: Labels that must equal exactly.}
  port: {type: int, default: 8500, description: Port the service answers on.}
  candidate_port: {type: int, default: 8501, description: Port of the candidate under test.}
  health_image: {type: path, required: true, description: Encoded image the health check posts.}
  health_timeout: {type: int, default: 300, description: Seconds a service may take to answer.}
  engine: {type: str, default: auto, description: auto, podman or docker.}
  insecure_registry: {type: bool, default: false, description: Plain-HTTP registry.}
  runner:
    type: str
    default: container
    description: >-
      container (engine run, restart policy always) or rootfs (a detached process chrooted
      into the mounted image; only for emulated lab hosts, where runc cannot start).
  state_dir: {type: path, default: /var/lib/edgefleet/deploy, description: Service records.}
  agent_run_dir:
    type: path
    default: /run/edgefleet-agent
    description: The agent's socket directory, shared with the service for inference reports.
  engine_args:
    type: list
    elements: str
    default: []
    description: >-
      Global engine flags before every command (e.g. a sandbox's `--storage-driver vfs`);
      none by default, so a real device uses its engine's own configured store and runtime.
  run_args: {type: list, elements: str, default: [], description: Extra flags for `run`.}
"""


def image_labels(info):
    labels = info.get("Labels") or (info.get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def check_image(engine, ref, p, host_platform):
    info = engine.inspect(ref)
    got = check_platform(info, host_platform)
    expected = p["expected_platform"]
    if expected and got != platform_of(*(expected.split("/")[1:] + [""])[:2]):
        raise StageError("arch", f"image is {got}, deployment expects {p['expected_platform']}")
    labels = image_labels(info)
    for key, want in (p["expected_labels"] or {}).items():
        if labels.get(key) != str(want):
            raise StageError("labels", f"label {key}={labels.get(key)!r}, expected {want!r}")
    cmd = image_config(info).get("Cmd") or []
    if not cmd:
        raise StageError("image", "image has no default command: it cannot serve")
    return info


class Services:
    """Start/stop/check one deployment's services; `stop` is safe on what isn't running."""

    def __init__(self, engine, p):
        self.engine = engine
        self.p = p
        self.logs = os.path.join(p["state_dir"], "logs")

    def container_name(self, role):
        return f"edgefleet-{self.p['name']}" + ("" if role == "service" else "-candidate")

    def start(self, ref, info, port, role):
        os.makedirs(self.p["agent_run_dir"], exist_ok=True)
        env = {"EDGEFLEET_SERVING_PORT": str(port)}
        if self.p["runner"] == "rootfs":
            return self._start_rootfs(ref, info, env, port, role)
        name = self.container_name(role)
        self.engine.run(["rm", "--force", name], check=False)
        restart = ["--restart", "always"] if role == "service" else []
        envs = [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
        cid = self.engine.run(
            ["run", "--detach", "--name", name, "--network", "host", *restart, *envs,
             "--volume", f"{self.p['agent_run_dir']}:{self.p['agent_run_dir']}",
             *self.engine.run_args, ref]).stdout.strip()
        return {"runner": "container", "container": name, "id": cid[:64], "port": port}

    def _start_rootfs(self, ref, info, env, port, role):
        mount = mount_image(self.engine, ref)
        argv = list(image_config(info).get("Cmd") or [])
        os.makedirs(self.logs, exist_ok=True)
        log_path = os.path.join(self.logs, f"{self.p['name']}-{role}.log")
        run_dir = self.p["agent_run_dir"]
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                rootfs_argv(mount, argv, [(run_dir, run_dir, False)]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                env={**image_env(info), **env}, close_fds=True)
        return {"runner": "rootfs", "pid": proc.pid, "started": _start_time(proc.pid),
                "image": ref, "port": port, "log": log_path}

    def alive(self, svc):
        if not svc:
            return False
        if svc.get("runner") == "rootfs":
            started = svc.get("started")
            return started is not None and _start_time(svc.get("pid")) == started
        proc = self.engine.run(["inspect", "--format", "{{.State.Running}}", svc["container"]],
                               check=False)
        return proc.returncode == 0 and proc.stdout.strip() == "true"

    def stop(self, svc):
        if not svc:
            return
        if svc.get("runner") == "rootfs":
            if self.alive(svc):
                kill_group(svc["pid"])
            unmount_image(self.engine, svc["image"])
            return
        self.engine.run(["rm", "--force", "--time", "10", svc["container"]], check=False)

    def describe_failure(self, svc):
        """The last lines the service wrote, for the error the operator reads."""
        if not svc:
            return ""
        if svc.get("runner") == "rootfs":
            try:
                with open(svc["log"], "rb") as fh:
                    return fh.read()[-600:].decode(errors="replace").strip()
            except OSError:
                return ""
        proc = self.engine.run(["logs", "--tail", "20", svc["container"]], check=False)
        return (proc.stdout + proc.stderr).strip()[-600:]


def _start_time(pid):
    """Field 22 of /proc/PID/stat: tells a live service from a recycled pid."""
    if not pid:
        return None
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def health_check(services, svc, image_bytes, timeout_s):
    """Wait for /healthz, then POST the image: the answer must carry a top-k prediction."""
    base = f"http://127.0.0.1:{svc['port']}"
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if not services.alive(svc):
            raise StageError("health", "service exited before answering: "
                              + (services.describe_failure(svc) or "no output"))
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:  # noqa: S310
                if resp.status == 200:
                    break
        except urllib.error.HTTPError as exc:
            last = f"healthz {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        time.sleep(0.5)
    else:
        raise StageError("health", f"service did not become ready in {timeout_s} s ({last}): "
                          + services.describe_failure(svc))
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        base + "/predict", data=image_bytes, method="POST",
        headers={"Content-Type": "image/jpeg"})
    try:
        with urllib.request.urlopen(request, timeout=max(5.0, deadline - time.monotonic())) as r:  # noqa: S310, E501
            body = json.loads(r.read().decode())
    except urllib.error.HTTPError as exc:
        raise StageError("health", f"test prediction answered {exc.code}: "
                          f"{exc.read()[:200].decode(errors='replace')}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise StageError("health", f"test prediction failed: {exc}") from None
    if not isinstance(body, dict) or not body.get("top"):
        raise StageError("health", f"test prediction has no top-k: {str(body)[:200]}")
    return {"top": body["top"][:3], "latency_ms": body.get("latency_ms"),
            "model": body.get("model"), "version": body.get("version")}


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


def serve(services, p, ref, info, image_bytes, previous, result):
    """Candidate on the side port, then the switch; returns the new service record."""
    candidate = services.start(ref, info, p["candidate_port"], "candidate")
    try:
        result["prediction"] = health_check(services, candidate, image_bytes,
                                            p["health_timeout"])
    finally:
        services.stop(candidate)
    services.stop(previous.get("service") if previous else None)
    svc = services.start(ref, info, p["port"], "service")
    try:
        health_check(services, svc, image_bytes, p["health_timeout"])
    except StageError:
        services.stop(svc)
        raise
    return svc


def rollback(services, p, previous, image_bytes, result):
    """Bring the previous digest back on the service port and prove it still predicts."""
    prev_ref = f"{previous['image']}@{previous['digest']}"
    try:
        if services.alive(previous.get("service")):
            health_check(services, previous["service"], image_bytes, p["health_timeout"])
            restored = previous["service"]
        else:
            info = services.engine.inspect(prev_ref)
            restored = services.start(prev_ref, info, p["port"], "service")
            health_check(services, restored, image_bytes, p["health_timeout"])
        result["status"] = "rolled_back"
        result["rolled_back_to"] = previous["digest"]
        return {**previous, "service": restored}
    except (StageError, subprocess.TimeoutExpired, ValueError, OSError) as again:
        result["error"] += f"; rollback failed too: {again}"
        return None


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "image": {"type": "str", "required": True},
            "digest": {"type": "str", "required": True},
            "expected_platform": {"type": "str", "default": None},
            "expected_labels": {"type": "dict", "default": {}},
            "port": {"type": "int", "default": 8500},
            "candidate_port": {"type": "int", "default": 8501},
            "health_image": {"type": "path", "required": True},
            "health_timeout": {"type": "int", "default": 300},
            "engine": {"type": "str", "default": "auto", "choices": ["auto", "podman", "docker"]},
            "insecure_registry": {"type": "bool", "default": False},
            "runner": {"type": "str", "default": "container", "choices": ["container", "rootfs"]},
            "state_dir": {"type": "path", "default": "/var/lib/edgefleet/deploy"},
            "agent_run_dir": {"type": "path", "default": "/run/edgefleet-agent"},
            "engine_args": {"type": "list", "elements": "str", "default": []},
            "run_args": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=False,
    )
    p = module.params
    digest, image = p["digest"], p["image"]
    for problem in (check_digest(digest), check_repository(image)):
        if problem:
            module.fail_json(msg=problem)
    if not p["name"].replace("-", "").replace("_", "").isalnum():
        module.fail_json(msg=f"deployment name {p['name']!r} must be letters, digits, - and _")
    for key in ("port", "candidate_port"):
        if not 1 <= p[key] <= 65535:
            module.fail_json(msg=f"{key} {p[key]} is not a TCP port")
    if p["port"] == p["candidate_port"]:
        module.fail_json(msg="port and candidate_port must differ (blue/green switch)")
    try:
        with open(p["health_image"], "rb") as fh:
            image_bytes = fh.read()
    except OSError as exc:
        module.fail_json(msg=f"health image {p['health_image']}: {exc.strerror}")
    state_path = os.path.join(p["state_dir"], p["name"] + ".json")
    state = load_state(state_path)
    previous = state.get("current")
    host_platform = platform_of(platform.machine())
    ref = f"{image}@{digest}"
    result = {"name": p["name"], "image": image, "digest": digest,
              "previous": {k: previous[k] for k in ("image", "digest") if k in previous}
              if previous else None,
              "platform": host_platform, "engine": None, "runner": p["runner"],
              "port": p["port"], "status": "failed", "prediction": None, "error": None,
              "stage": None, "rolled_back_to": None}
    changed = False
    services = None
    try:
        engine = detect_engine(p["engine"], p["engine_args"], p["run_args"])
        result["engine"] = engine.kind
        services = Services(engine, p)
        current_svc = previous.get("service") if previous else None
        if previous and previous.get("digest") == digest and services.alive(current_svc):
            result["prediction"] = health_check(services, current_svc, image_bytes,
                                                p["health_timeout"])
            result["status"] = "unchanged"
        else:
            engine.run(pull_args(engine, ref, p["insecure_registry"]))
            info = check_image(engine, ref, p, host_platform)
            result["labels"] = {k: v for k, v in image_labels(info).items()
                                if k.startswith("io.edgefleet.")}
            svc = serve(services, p, ref, info, image_bytes, previous, result)
            # The previous record keeps no service: it is stopped, rollback restarts it.
            prior = {k: previous[k] for k in ("image", "digest")} if previous else None
            save_state(state_path, {"current": {"image": image, "digest": digest,
                                                "service": svc}, "previous": prior})
            result["status"] = "deployed"
            changed = True
    except (StageError, subprocess.TimeoutExpired, ValueError, OSError) as exc:
        result["error"] = str(exc)
        result["stage"] = getattr(exc, "stage", "timeout")
        if previous and previous.get("digest") != digest and services is not None:
            restored = rollback(services, p, previous, image_bytes, result)
            if restored is not None:
                save_state(state_path, {**state, "current": restored})
    module.exit_json(changed=changed, deploy=result)


if __name__ == "__main__":
    main()
