"""Demo helper: publish busybox runtime bases (amd64, arm64) and print deploy extra vars.

`base URL DIR` pushes runtime/busybox:1 made from the installed static busyboxes (the
same tiny runtimes the tests use: nothing can be pulled from the internet here).
`extravars JSON_FROM_VERIFY GROUP_RUNNER` turns `registry verify --json` into the extra vars
of deploy_model.yml (the digest is pinned, never a tag)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry import labels  # noqa: E402
from registry.client import RegistryClient  # noqa: E402
from tests.registry.conftest import push_busybox_bases  # noqa: E402


def main() -> None:
    if sys.argv[1] == "base":
        with RegistryClient(sys.argv[2]) as client:
            push_busybox_bases(client, Path(sys.argv[3]))
        return
    found = json.loads(Path(sys.argv[2]).read_text())["found"]
    image, _, digest = found["pinned"].partition("@")
    print(json.dumps({
        "edgefleet_deploy_name": "demo",
        "edgefleet_deploy_image": image, "edgefleet_deploy_digest": digest,
        "edgefleet_deploy_platform": found["platform"],
        "edgefleet_deploy_labels": {k: found["labels"][k]
                                    for k in (labels.TASK, labels.MODEL, labels.VERSION)},
        "edgefleet_deploy_health_cmd": ["/usr/local/bin/predict", "1", "2", "3"],
        "edgefleet_deploy_insecure": True,  # the demo registry is plain HTTP on the bridge
        "edgefleet_deploy_runner": sys.argv[3],
    }))


if __name__ == "__main__":
    main()
