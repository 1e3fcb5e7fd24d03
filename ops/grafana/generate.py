"""Write the dashboards' JSON into ops/grafana/dashboards/ (Grafana's file provisioning in
ops/compose.yaml reads them); tests/ops/test_grafana.py checks the files are current.

    python ops/grafana/generate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from infra.observability.grafana.dashboards import dashboards  # noqa: E402

OUT = Path(__file__).resolve().parent / "dashboards"


def render(dashboard: dict[str, object]) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for dashboard in dashboards():
        (OUT / f"{dashboard['uid']}.json").write_text(render(dashboard))


if __name__ == "__main__":
    main()
