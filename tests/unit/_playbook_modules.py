"""Load edgefleet's Ansible modules and filter plugins (plain files, not a package) by path."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "playbooks" / "library"
MODULE_UTILS = ROOT / "playbooks" / "module_utils"
FILTERS = ROOT / "playbooks" / "filter_plugins"
FIXTURES = ROOT / "tests" / "fixtures"


# What Ansible's payload does for a module: `ansible.module_utils.<name>` finds the project's
# module_utils (ansible.cfg `module_utils`), then the module runs as __main__.
_BOOT = ("import runpy, sys, ansible.module_utils as m; m.__path__.append(sys.argv[1]); "
         "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def _with_module_utils() -> None:
    import ansible.module_utils

    if str(MODULE_UTILS) not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(str(MODULE_UTILS))


def load(path: Path, name: str) -> ModuleType:
    _with_module_utils()
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(name: str, args: dict[str, Any], tmp_path: Path, timeout: float = 60,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a library module the way Ansible does (args file in, one JSON object out)."""
    args_file = tmp_path / f"{name}-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run(
        [sys.executable, "-c", _BOOT, str(MODULE_UTILS), str(LIBRARY / f"{name}.py"),
         str(args_file)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return json.loads(proc.stdout)
