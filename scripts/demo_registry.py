"""Demo helper: turn `edgefleet registry verify --json` into deploy_model.yml's extra vars.

The digest is pinned, never a tag; where the service runs (container or the lab's chroot
fallback) is the inventory's business, not the demo's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry import labels  # noqa: E402


def main() -> None:
    found = json.loads(Path(sys.argv[1]).read_text())["found"]
    image, _, digest = found["pinned"].partition("@")
    print(json.dumps({
        "edgefleet_deploy_name": "model",
        "edgefleet_deploy_image": image, "edgefleet_deploy_digest": digest,
        "edgefleet_deploy_platform": found["platform"],
        "edgefleet_deploy_labels": {k: found["labels"][k]
                                    for k in (labels.TASK, labels.MODEL, labels.VERSION)},
        "edgefleet_deploy_insecure": True,  # the demo registry is plain HTTP on the bridge
    }))


if __name__ == "__main__":
    main()
