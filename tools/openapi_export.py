"""Write docs/api/<service>.openapi.json: each service's OpenAPI document, from its app.

    python tools/openapi_export.py           # write the files
    python tools/openapi_export.py --check   # exit 1 if a committed file is stale

Building an app opens nothing (no database, no broker): the lifespan never runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

SERVICES = ("routing", "ivr", "crm", "workorders", "analytics")
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "api"


def document(service: str, data_dir: Path) -> str:
    settings_class = importlib.import_module(f"callcenter.{service}.settings").Settings
    create_app = importlib.import_module(f"callcenter.{service}.app").create_app
    # Explicit values, so that the environment of whoever runs this changes nothing.
    settings = settings_class(data_dir=data_dir, signing_key="export", database_url="")
    schema = create_app(settings).openapi()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def documents() -> dict[Path, str]:
    with tempfile.TemporaryDirectory() as data_dir:
        return {
            OUTPUT / f"{service}.openapi.json": document(service, Path(data_dir))
            for service in SERVICES
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in documents().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}: run python tools/openapi_export.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
