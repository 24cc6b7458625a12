"""Tools registered by users from their own checkpoints, through spandrel.

Any architecture that ``spandrel`` (+ ``spandrel_extra_arches``) recognises from a state
dict can become a tool: SwinIR, Restormer, NAFNet, SCUNet, FBCNN, RetinexFormer, MPRNet,
DnCNN, DRUNet, Real-ESRGAN (Compact and RRDB), HAT, ...

>>> from irpilot.tools.user import register_checkpoint          # doctest: +SKIP
>>> cls = register_checkpoint("my_nafnet", "denoise", "NAFNet-SIDD-width32.pth")  # doctest: +SKIP
>>> cls()(img).shape == img.shape                                  # doctest: +SKIP
True

Checkpoints are read without executing code: ``.pth``/``.ckpt``/``.bin``/``.pt`` with
``torch.load(weights_only=True)`` (tensors and plain containers only; TorchScript
archives are refused) and ``.safetensors`` with ``safetensors``.  The state dict then goes
to spandrel's architecture detection, and the model is put in ``eval()`` mode (spandrel
returns it in training mode, where BatchNorm and dropout behave differently).

``irpilot tools add NAME --task TASK --checkpoint FILE`` stores the tool in a JSON file
(``$IRPILOT_USER_TOOLS``, else ``$XDG_CONFIG_HOME/irpilot/user_tools.json``, else
``~/.config/irpilot/user_tools.json``), together with what spandrel found (architecture,
scale, size rules), so that loading the registry reads no checkpoint and imports no torch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ToolError, ToolUnavailableError
from ..registry import check_name
from .base import TASKS, TOOLS, Tool, ToolCard, WeightsFile, sha256_file

__all__ = [
    "ENV_VAR",
    "UserToolSpec",
    "user_tools_path",
    "load_state_dict",
    "load_model",
    "inspect_checkpoint",
    "make_tool_class",
    "register_checkpoint",
    "add_user_tool",
    "check_user_tool_name",
    "remove_user_tool",
    "read_user_tools",
    "load_user_tools",
]

log = logging.getLogger(__name__)

ENV_VAR = "IRPILOT_USER_TOOLS"
_PICKLE_EXTS = (".pth", ".ckpt", ".bin", ".pt")
_EXTS = _PICKLE_EXTS + (".safetensors",)
_USER_TOOLS: set[str] = set()  # names registered by this module


def user_tools_path() -> Path:
    """Where ``irpilot tools add`` stores user tools (see the module docstring)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "irpilot" / "user_tools.json"


@dataclasses.dataclass
class UserToolSpec:
    """A user tool as stored in the JSON file: the checkpoint and what spandrel found in it."""

    name: str
    task: str
    checkpoint: str
    sha256: str = ""
    scale: int = 1
    architecture: str = ""
    arch_id: str = ""
    arch_package: str = "spandrel"
    purpose: str = "Restoration"
    input_channels: int = 3
    output_channels: int = 3
    min_size: int = 1
    multiple_of: int = 1
    square: bool = False
    tiling: str = "SUPPORTED"  # spandrel's ModelTiling name
    tags: tuple[str, ...] = ()
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UserToolSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "tags" in kw:
            kw["tags"] = tuple(kw["tags"])
        return cls(**kw)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["tags"] = list(self.tags)
        return d


# -- loading checkpoints safely -----------------------------------------------------------
def load_state_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint's tensors without executing code, as spandrel's canonical state dict.

    Raises :class:`ToolError` with a clear message for anything that is not a checkpoint."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ToolError(f"checkpoint {p} does not exist")
    ext = p.suffix.lower()
    if ext not in _EXTS:
        raise ToolError(f"{p.name}: unsupported checkpoint type {ext!r}; expected one of {', '.join(_EXTS)}")
    try:
        if ext == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(p), device="cpu")
        else:
            import torch

            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch/safetensors raise many types for corrupt files
        hint = ""
        if ext == ".pt":
            hint = " (TorchScript archives are refused because they contain code; save a state_dict)"
        raise ToolError(
            f"{p.name} is not a readable weights-only checkpoint{hint}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    if not isinstance(state, dict):
        raise ToolError(f"{p.name} does not hold a state dict (found {type(state).__name__})")
    from spandrel import canonicalize_state_dict

    try:
        return canonicalize_state_dict(state)
    except Exception as exc:
        raise ToolError(f"{p.name}: could not read a state dict from it: {exc}") from exc


def _ensure_extra_arches() -> None:
    try:
        import spandrel_extra_arches
    except ImportError:
        return
    spandrel_extra_arches.install(ignore_duplicates=True)


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> Any:
    """spandrel's :class:`ImageModelDescriptor` for a checkpoint, in ``eval()`` mode."""
    from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError

    _ensure_extra_arches()
    state = load_state_dict(path)
    try:
        desc = ModelLoader(device="cpu").load_from_state_dict(state)
    except UnsupportedModelError as exc:
        raise ToolError(
            f"{Path(path).name}: spandrel does not recognise this architecture "
            f"(supported: SwinIR, Restormer, NAFNet, SCUNet, DnCNN, DRUNet, FBCNN, ESRGAN, ...)"
        ) from exc
    except Exception as exc:
        raise ToolError(f"{Path(path).name}: spandrel failed to build the model: {type(exc).__name__}: {exc}") from exc
    if not isinstance(desc, ImageModelDescriptor):
        raise ToolError(
            f"{Path(path).name}: {desc.architecture.name} is a {type(desc).__name__} "
            "(e.g. inpainting with a mask); only image-to-image models can be tools"
        )
    return desc.to(device).eval()


def inspect_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What spandrel finds in a checkpoint (architecture, scale, channels, size rules, tiling)."""
    desc = load_model(path)
    req = desc.size_requirements
    arch_module = type(desc.architecture).__module__
    return {
        "architecture": desc.architecture.name,
        "arch_id": str(desc.architecture.id),
        "arch_package": arch_module.split(".")[0],
        "purpose": str(desc.purpose),
        "scale": int(desc.scale),
        "input_channels": int(desc.input_channels),
        "output_channels": int(desc.output_channels),
        "min_size": int(req.minimum or 1),
        "multiple_of": int(req.multiple_of or 1),
        "square": bool(req.square),
        "tiling": desc.tiling.name,
        "tags": tuple(str(t) for t in desc.tags),
    }


# -- tool classes ---------------------------------------------------------------------------
def _card(spec: UserToolSpec) -> ToolCard:
    if spec.arch_package == "spandrel_extra_arches":
        code_license = "see upstream (spandrel_extra_arches: restrictive/non-commercial licences)"
    else:
        code_license = "MIT (spandrel; check the upstream architecture)"
    tiling_note = {"DISCOURAGED": " spandrel discourages tiling for it.", "INTERNAL": " It tiles internally."}
    desc = spec.description or f"user checkpoint {Path(spec.checkpoint).name}"
    desc = f"{desc} ({spec.architecture or 'spandrel'} via spandrel).{tiling_note.get(spec.tiling, '')}"
    return ToolCard(
        id=spec.name,
        task=spec.task,
        description=desc,
        scale=int(spec.scale),
        code_license=code_license,
        weights_license="user-supplied (check the checkpoint's source)",
        weights=(WeightsFile(relpath=str(Path(spec.checkpoint)), sha256=spec.sha256, source="user checkpoint"),),
        python_packages=("torch", "spandrel"),
        min_size=max(1, int(spec.min_size)),
        multiple_of=max(1, int(spec.multiple_of)),
        tiling=spec.tiling != "INTERNAL",
        tile_size=512 if spec.scale == 1 else 256,
        tile_overlap=32 if spec.scale == 1 else 16,
        kind="network",
        reference=f"spandrel architecture {spec.arch_id or spec.architecture}",
        version=(spec.sha256[:12] or "1"),
    )


class UserCheckpointTool(Tool):
    """Base class of user tools; subclasses carry a ``spec`` and a ``card``."""

    spec: UserToolSpec

    @classmethod
    def unavailable_reason(cls) -> str | None:
        ckpt = Path(cls.spec.checkpoint)
        if not ckpt.is_file():
            return (
                f"checkpoint {ckpt} is missing (user tool stored in {user_tools_path()}); "
                f"put it back or run `irpilot tools remove {cls.spec.name}`"
            )
        return super().unavailable_reason()

    def setup(self) -> None:
        import torch

        path = self.card.weights[0].resolve(verify=bool(self.spec.sha256))
        self._torch = torch
        self._model = load_model(path, device=self.device)

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(img))[None].to(self.device)
        gray = self.spec.input_channels == 1
        if gray:  # a one-channel model restores each colour channel on its own
            x = x.permute(1, 0, 2, 3)
        with torch.inference_mode():
            y = self._model(x)
        if gray:
            y = y.permute(1, 0, 2, 3)
        return y[0].float().clamp(0.0, 1.0).cpu().numpy()


def make_tool_class(spec: UserToolSpec) -> type[Tool]:
    """A Tool subclass for ``spec`` (reads no checkpoint)."""
    check_user_tool_name(spec.name)
    if spec.task not in TASKS:
        raise ConfigError(f"user tool {spec.name!r}: unknown task {spec.task!r}; tasks: {', '.join(TASKS)}")
    if (spec.input_channels, spec.output_channels) not in ((3, 3), (1, 1)):
        raise ConfigError(
            f"user tool {spec.name!r}: {spec.input_channels}->{spec.output_channels} channel models are not "
            "supported (RGB->RGB or grey->grey only)"
        )
    cls_name = "User_" + "".join(part.title() for part in spec.name.split("_"))
    return type(cls_name, (UserCheckpointTool,), {"spec": spec, "card": _card(spec), "__module__": __name__})


def check_user_tool_name(name: str) -> str:
    """``name`` if it can name a user tool (a snake_case identifier), else :class:`ConfigError`."""
    try:
        return check_name(name)
    except ValueError:
        raise ConfigError(
            f"{name!r} cannot name a tool: use a snake_case identifier (lower-case letters, digits and "
            "underscores, starting with a letter), e.g. my_nafnet"
        ) from None


def _check_not_builtin(name: str) -> None:
    if name in TOOLS and name not in _USER_TOOLS:
        raise ConfigError(f"{name!r} is a built-in tool; choose another name for your checkpoint")


def register_checkpoint(
    name: str,
    task: str,
    checkpoint_path: str | os.PathLike[str],
    *,
    scale: int | None = None,
    description: str = "",
) -> type[Tool]:
    """Inspect ``checkpoint_path`` with spandrel and register it as the tool ``name``.

    ``scale`` (optional) must match what spandrel finds; super-resolution tools must be x4
    for the ``super_resolution`` task of the protocol.  Returns the new Tool class."""
    spec = build_spec(name, task, checkpoint_path, scale=scale, description=description)
    return _register(spec)


def build_spec(
    name: str,
    task: str,
    checkpoint_path: str | os.PathLike[str],
    *,
    scale: int | None = None,
    description: str = "",
) -> UserToolSpec:
    check_user_tool_name(name)
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    p = Path(checkpoint_path).expanduser().resolve()
    info = inspect_checkpoint(p)
    if scale is not None and int(scale) != info["scale"]:
        raise ConfigError(f"{p.name}: you said scale {scale}, but the {info['architecture']} model scales by {info['scale']}")
    if task == "super_resolution" and info["scale"] == 1:
        raise ConfigError(f"{p.name}: a super_resolution tool must upscale, but this model has scale 1")
    if task != "super_resolution" and info["scale"] != 1:
        raise ConfigError(f"{p.name}: the model upscales x{info['scale']}; register it for super_resolution")
    spec = UserToolSpec(name=name, task=task, checkpoint=str(p), sha256=sha256_file(p), description=description, **info)
    make_tool_class(spec)  # validates channels
    return spec


def _register(spec: UserToolSpec) -> type[Tool]:
    _check_not_builtin(spec.name)
    cls = make_tool_class(spec)
    TOOLS.add(spec.name, cls, replace=True)
    _USER_TOOLS.add(spec.name)
    from . import _INSTANCES

    for key in [k for k in _INSTANCES if k[0] == spec.name]:
        del _INSTANCES[key]  # a re-registered name must not reuse the old model
    return cls


# -- the persistent file -----------------------------------------------------------------------
def _parse_user_tools(p: Path) -> tuple[list[UserToolSpec], list[str]]:
    """The valid entries of the user-tools file ``p`` and one message per invalid one."""
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"user tools file {p} is not valid JSON: {exc}") from exc
    items = data.get("tools", []) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConfigError(f"user tools file {p}: expected {{\"tools\": [...]}}, a list of tool entries")
    specs, problems = [], []
    required = ("name", "task", "checkpoint")
    for i, d in enumerate(items):
        where = f"user tools file {p}, entry {i + 1}"
        if not isinstance(d, dict):
            problems.append(f"{where}: expected an object with {', '.join(required)}, got {json.dumps(d)[:60]}")
            continue
        missing = [k for k in required if not isinstance(d.get(k), str) or not d.get(k)]
        if missing:
            problems.append(f"{where}: missing or not a string: {', '.join(missing)}")
            continue
        try:
            specs.append(UserToolSpec.from_dict(d))
        except (TypeError, ValueError) as exc:
            problems.append(f"{where} ({d['name']!r}): {exc}")
    return specs, problems


def read_user_tools(path: Path | None = None) -> list[UserToolSpec]:
    """The specs stored in the user-tools file (empty when there is none); a
    :class:`ConfigError` names the first malformed entry, so that the file is never rewritten
    without it."""
    p = path or user_tools_path()
    if not p.is_file():
        return []
    specs, problems = _parse_user_tools(p)
    if problems:
        raise ConfigError(f"{problems[0]}; fix or remove it")
    return specs


def _write_user_tools(specs: list[UserToolSpec], path: Path | None = None) -> Path:
    from ..io import atomic_write_bytes

    p = path or user_tools_path()
    payload = {"version": 1, "tools": [s.as_dict() for s in sorted(specs, key=lambda s: s.name)]}
    return atomic_write_bytes(p, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))


def add_user_tool(
    name: str,
    task: str,
    checkpoint_path: str | os.PathLike[str],
    *,
    scale: int | None = None,
    description: str = "",
    path: Path | None = None,
) -> UserToolSpec:
    """Register a checkpoint and store it in the user-tools file (replacing a same-named entry)."""
    check_user_tool_name(name)
    _check_not_builtin(name)
    spec = build_spec(name, task, checkpoint_path, scale=scale, description=description)
    specs = [s for s in read_user_tools(path) if s.name != name] + [spec]
    _write_user_tools(specs, path)
    _register(spec)
    return spec


def remove_user_tool(name: str, *, path: Path | None = None) -> bool:
    """Remove ``name`` from the user-tools file and the registry; ``False`` if it was not there."""
    specs = read_user_tools(path)
    kept = [s for s in specs if s.name != name]
    if len(kept) == len(specs):
        return False
    _write_user_tools(kept, path)
    if name in _USER_TOOLS:
        TOOLS.remove(name)
        _USER_TOOLS.discard(name)
    return True


def load_user_tools(path: Path | None = None) -> list[str]:
    """Register every tool of the user-tools file (cheap: no checkpoint is read).

    A broken file or entry is logged and skipped, so it cannot break the built-in toolbox."""
    p = path or user_tools_path()
    try:
        specs, problems = _parse_user_tools(p) if p.is_file() else ([], [])
    except ConfigError as exc:
        log.warning("%s; user tools skipped", exc)
        return []
    for problem in problems:
        log.warning("%s; entry skipped", problem)
    names = []
    for spec in specs:
        try:
            _register(spec)
            names.append(spec.name)
        except (ConfigError, ValueError, TypeError, ToolUnavailableError) as exc:
            log.warning("skipping user tool %r: %s", spec.name, exc)
    return names


load_user_tools()
