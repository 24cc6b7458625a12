"""Shared plumbing of the pretrained-network tools.

* :func:`github_weights` builds the :class:`WeightsFile` of a file pinned at a commit.
* :func:`load_torch_state` / :func:`load_matconvnet` read checkpoints without executing code
  (``torch.load(weights_only=True)``; MATLAB v7.3 files through h5py).
* :class:`NetworkTool` is the base of every torch tool: it builds the model lazily in
  ``setup()``, puts it on the tool's device and runs numpy (C, H, W) arrays through it.
* :class:`CompositeTool` is the base of a tool made of other registered tools (an average, a
  cascade), one of which is required and the others optional.

Nothing here imports torch at module import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...errors import ToolUnavailableError
from ..base import TOOLS, Tool, ToolCard, WeightsFile

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "OWN_WEIGHTS_SUBDIR",
    "own_weights",
    "load_own_safetensors",
    "save_own_safetensors",
    "register",
    "github_weights",
    "load_torch_state",
    "load_matconvnet",
    "NetworkTool",
    "CompositeTool",
    "member_cards",
]


#: sub-folder of each weights folder where irpilot's own trained networks may be dropped
OWN_WEIGHTS_SUBDIR = "irpilot"


def own_weights(asset: str) -> Path | None:
    """The weights file of one of irpilot's own networks (``asset``, e.g. ``"assets/jpeg_chroma.safetensors"``):
    first ``<folder>/irpilot/<file name>`` in each weights folder (:func:`irpilot.config.weights_search_path`;
    where a user puts the weights they trained, e.g. ``irpilot train tool dehaze --export
    ~/.cache/irpilot/weights/irpilot/compact_dehaze.safetensors``), then the file packaged with irpilot;
    ``None`` when neither exists."""
    from importlib import resources

    from ...config import weights_search_path

    name = Path(asset).name
    for folder in weights_search_path():
        candidate = Path(folder) / OWN_WEIGHTS_SUBDIR / name
        if candidate.is_file():
            return candidate
    try:
        packaged = resources.files("irpilot").joinpath(asset)
        if packaged.is_file():
            return Path(str(packaged))
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    return None


def load_own_safetensors(asset: str, path: str | Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of one of irpilot's own networks, from ``path`` or else from
    :func:`own_weights` (``asset``); a clear error when neither exists.  Safetensors holds
    tensors only: loading runs no code."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if path is None:
        path = own_weights(asset)
        if path is None:
            raise FileNotFoundError(f"no weights: neither {asset} in the package nor "
                                    f"{OWN_WEIGHTS_SUBDIR}/{Path(asset).name} in a weights folder")
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
    return load_file(str(path)), meta


def save_own_safetensors(model: torch.nn.Module, path: str | Path, meta: dict[str, str], required: set[str]) -> None:
    """Write ``model``'s weights as safetensors (atomically) with ``meta`` as the file's metadata
    (values stored as strings); ``required`` keys must be in ``meta`` (the network's shape)."""
    from safetensors.torch import save

    from ...io import atomic_write_bytes

    missing = set(required) - set(meta)
    if missing:
        raise ValueError(f"meta must give the network shape; missing {sorted(missing)}")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={k: str(v) for k, v in meta.items()}))


def register(cls: type[Tool]) -> type[Tool]:
    """Class decorator: register a tool in ``TOOLS`` under its ``card.id``."""
    TOOLS.register(cls.card.id)(cls)
    return cls


def github_weights(relpath: str, sha256: str, repo: str, commit: str, path: str, paper: str) -> WeightsFile:
    """A weights file that also lives at ``path`` in GitHub ``repo`` at ``commit``."""
    return WeightsFile(
        relpath=relpath,
        sha256=sha256,
        url=f"https://raw.githubusercontent.com/{repo}/{commit}/{path}",
        source=f"https://github.com/{repo} ({path} at {commit[:10]}); {paper}",
    )


def load_torch_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict loaded with ``weights_only=True`` (no pickled code runs); a
    ``module.`` prefix left by ``nn.DataParallel`` is removed."""
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or an unexpected pickle
        raise ToolUnavailableError(f"cannot read weights {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(state, dict):
        raise ToolUnavailableError(f"weights {path} hold a {type(state).__name__}, expected a state_dict")
    return {(k[7:] if k.startswith("module.") else k): _flush_subnormals(v) for k, v in state.items()}


def _flush_subnormals(t: torch.Tensor) -> torch.Tensor:
    """Zero the subnormal floats some checkpoints carry (Zero-DCE holds ~19k of them): they
    change nothing numerically but make CPU convolutions up to 30x slower."""
    import torch

    if not t.is_floating_point():
        return t
    return torch.where(t.abs() < torch.finfo(t.dtype).tiny, torch.zeros_like(t), t)


def _matlab_array(dataset: Any) -> np.ndarray:
    """An HDF5 dataset of a v7.3 MAT file as the array MATLAB sees (h5py reverses the axes)."""
    return np.asarray(dataset[()]).T


def load_matconvnet(path: str | Path) -> list[dict[str, Any]]:
    """The layers of a MatConvNet ``simplenn`` network saved as MATLAB v7.3.

    Each layer is a dict with ``type`` (``conv``, ``relu``, ``SubP``, ``concat`` ...) and,
    for convolutions, ``weight`` as float32 (out, in, kh, kw), ``bias`` (out,), ``pad``,
    ``stride`` and ``dilate``; other scalar fields (``scale``, ``leak``) are copied as floats.
    MatConvNet filters are (kh, kw, in, out) in MATLAB; trailing singleton axes are dropped
    by MATLAB when saving, so they are restored here.
    """
    import h5py

    try:
        f = h5py.File(str(path), "r")
    except OSError as exc:
        raise ToolUnavailableError(f"cannot read MATLAB v7.3 file {path}: {exc}") from exc
    layers: list[dict[str, Any]] = []
    with f:
        for ref in np.asarray(f["net"]["layers"][()]).ravel():
            group = f[ref]
            kind = "".join(chr(int(c)) for c in np.asarray(group["type"][()]).ravel())
            layer: dict[str, Any] = {"type": kind}
            for key in group:
                if key in ("type", "name", "weights"):
                    continue
                data = group[key]
                if isinstance(data, h5py.Dataset) and data.dtype != object and data.size == 1:
                    layer[key] = float(np.asarray(data[()]).ravel()[0])
            if kind == "conv":
                wref, bref = np.asarray(group["weights"][()]).ravel()[:2]
                w = _matlab_array(f[wref]).astype(np.float32)
                w[np.abs(w) < np.finfo(np.float32).tiny] = 0.0  # subnormals slow CPU convs
                w = w.reshape(w.shape + (1,) * (4 - w.ndim))
                layer["weight"] = np.ascontiguousarray(w.transpose(3, 2, 0, 1))
                layer["bias"] = _matlab_array(f[bref]).astype(np.float32).ravel()
            layers.append(layer)
    return layers


class NetworkTool(Tool):
    """Base of the torch tools: ``build()`` returns the loaded ``nn.Module`` (called once, in
    ``setup()``); ``forward()`` runs a numpy (C, H, W) or (N, C, H, W) array through it.

    Weights and activations are kept channels-last (NHWC), the layout oneDNN's CPU
    convolutions run fastest in: the DnCNN family is 1.3-1.4x faster on CPU than with the
    default NCHW layout, with outputs equal to float rounding (``benchmarks/memory_format.py``).
    The tool option ``channels_last=False`` keeps NCHW.

    Arithmetic follows the ``precision`` setting (tool option ``precision`` overrides it):
    float32 by default; bfloat16 is 1.6-2x faster on a CPU with native bfloat16 instructions,
    outputs within about 50 dB PSNR of float32 (``irpilot.config.network_dtype``).
    """

    model: Any = None

    def build(self) -> torch.nn.Module:
        """Construct the network and load its weights (paths from ``self.weights_path(i)``)."""
        raise NotImplementedError

    def weights_path(self, index: int = 0) -> Path:
        return self.card.weights[index].resolve()

    def setup(self) -> None:
        import torch

        model = self.build()
        for p in model.parameters():
            p.requires_grad_(False)
        model = model.eval().to(torch.device(self.device))
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model

    @property
    def channels_last(self) -> bool:
        return bool(self.options.get("channels_last", True))

    #: whether bfloat16 may be used at all (a tool whose outputs it measurably harms sets False)
    bf16_ok: bool = True

    @classmethod
    def precision_tag(cls, device: str | None = None, precision: str | None = None) -> str:
        """"bf16" when this tool's networks run in bfloat16 under these settings, else ""."""
        from ...config import network_dtype

        return "bf16" if cls.bf16_ok and network_dtype(device, precision) == "bfloat16" else ""

    @property
    def dtype(self) -> str:
        """"bfloat16" or "float32": the arithmetic of this tool's convolutions.  Under
        bfloat16 the weights stay float32 and ``torch.autocast`` runs the matrix products in
        bfloat16; additions such as a residual network's ``x - noise`` stay float32."""
        tag = self.precision_tag(self.device, self.options.get("precision"))
        return "bfloat16" if tag else "float32"

    def autocast(self) -> Any:
        """The context in which the network runs: bfloat16 matrix products under that precision."""
        import torch

        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16, enabled=self.dtype == "bfloat16")

    def forward(self, arr: np.ndarray, *extra: Any) -> np.ndarray:
        """Run the model on ``arr`` ((C,H,W) or (N,C,H,W) float32); returns the first output
        (tuples are unpacked) as numpy with the same batch layout."""
        import torch

        single = arr.ndim == 3
        x = torch.from_numpy(np.ascontiguousarray(arr[None] if single else arr, dtype=np.float32)).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self.autocast():
            y = self.model(x, *extra)
            if isinstance(y, (tuple, list)):
                y = y[0]
            out = y.float().cpu().contiguous().numpy()
        return out[0] if single else out


def member_cards(names: tuple[str, ...]) -> list[ToolCard]:
    """The cards of registered tools ``names`` (for a :class:`CompositeTool`'s own card)."""
    return [TOOLS.get(name).card for name in names]


class CompositeTool(Tool):
    """A tool made of other registered tools, ``members`` in order: ``required`` always runs, the
    others join when they are available (their weights present).  Missing optional members do
    not make the tool unavailable; its cache tag then ends in ``-<required>-only``, so the result
    cache keeps those outputs apart.  A member's card version other than "1" joins the tag
    (``name@version``), so a member retrained or changed never serves the composite's old outputs
    from the cache.  A subclass combines the members' runs in ``_run`` (``self._members``:
    instances of the available members, in order)."""

    members: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[str] = ""

    @classmethod
    def available_members(cls) -> list[str]:
        return [name for name in cls.members if name == cls.required or TOOLS.get(name).available()]

    @classmethod
    def precision_tag(cls, device: str | None = None, precision: str | None = None) -> str:
        # the members run and their arithmetic: the result cache keeps the required member alone
        # (an optional one's weights missing) and different precisions apart
        members = cls.available_members()
        tags = [TOOLS.get(name).precision_tag(device, precision) for name in members]
        tag = "+".join(tags) if any(tags) else ""
        if len(members) != len(cls.members):
            tag = f"{tag}-{cls.required}-only".lstrip("-")
        versions = [f"{name}@{v}" for name in members if (v := TOOLS.get(name).card.version) != "1"]
        return "+".join(t for t in (tag, *versions) if t)

    def setup(self) -> None:
        options = {k: v for k, v in self.options.items() if k in ("device", "precision", "threads")}
        self._members = [TOOLS.get(name)(**options) for name in self.available_members()]
