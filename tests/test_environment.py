"""The test environment is the locked one.

``./dev`` installs ``requirements.lock`` and ``requirements-nodeps.lock`` at exact versions; a
package at another version means the results of this run are not those of the lock (e.g. an
environment built by hand, or before the lock changed).  Set ``IRPILOT_SKIP_LOCK_CHECK=1`` to
run the tests in another environment on purpose.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-nodeps.lock")


def locked_pins(text: str) -> dict[str, str]:
    """name -> exact version for every line of a lock file whose marker holds here."""
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is not None and not Marker(str(req.marker)).evaluate():
            continue
        (spec,) = tuple(req.specifier)
        if spec.operator != "==":
            raise ValueError(f"lock line {raw!r} is not an exact pin")
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def mismatches(pins: dict[str, str]) -> list[str]:
    """Lines naming each locked package whose installed version differs (or that is absent)."""
    from packaging.specifiers import SpecifierSet

    bad = []
    for name, version in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            bad.append(f"{name}: locked {version}, not installed")
            continue
        # "==2.14.1" accepts the local build "2.14.1+cpu" (the CPU-only torch)
        if not SpecifierSet(f"=={version}").contains(installed, prereleases=True):
            bad.append(f"{name}: locked {version}, installed {installed}")
    return bad


def test_locked_pins_parse_markers_and_local_versions() -> None:
    text = "\n".join(
        [
            "# a comment",
            "numpy==1.0 ; python_full_version < '3.0'",
            "pillow==12.3.0",
            "    # via irpilot",
            "torch==2.14.1 ; sys_platform != 'nonesuch'",
        ]
    )
    assert locked_pins(text) == {"pillow": "12.3.0", "torch": "2.14.1"}
    with pytest.raises(ValueError, match="exact pin"):
        locked_pins("numpy>=1.0")


@pytest.mark.skipif(os.environ.get("IRPILOT_SKIP_LOCK_CHECK") == "1", reason="IRPILOT_SKIP_LOCK_CHECK=1")
def test_installed_versions_match_the_lock() -> None:
    pins: dict[str, str] = {}
    for name in LOCKS:
        pins.update(locked_pins((ROOT / name).read_text()))
    assert len(pins) > 50
    bad = mismatches(pins)
    assert not bad, (
        "the installed packages differ from the lock files; run `./dev setup` (it rebuilds .venv "
        "from requirements.lock):\n  " + "\n  ".join(bad)
    )
