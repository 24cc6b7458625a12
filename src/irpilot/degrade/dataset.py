"""Degraded image sets on disk: ``build_set`` writes PNGs and a JSON-lines manifest,
resumable and reproducible; ``replay_entry`` re-creates an entry from its clean file.

Layout: ``OUT/<group>/<deg1>+<deg2>[+...]/<clean stem>.png`` and ``OUT/manifest.jsonl``;
with ``crop`` the cropped clean references go to ``OUT/clean/<stem>.png``.

Each manifest line: ``clean`` (path of the clean file as given, resolved), ``reference``
(the clean image to score against, relative to OUT when written there), ``degraded``
(relative to OUT), ``degradations`` (names in order), ``kinds`` (the protocol kind of each
name: ``real_noise`` -> ``noise``; the perception label), ``params`` (name -> every sampled
value), ``records`` (name/params/seed per step), ``seed`` (the image's seed), ``group``,
``preset``, ``crop`` ([top, left, height, width] or null), ``clean_size``, ``size``,
``sha256`` (of the degraded PNG bytes).
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageReadError, IrpilotError
from ..imaging.convert import on_8bit_grid, to_uint8
from ..io import atomic_write_bytes, encode_image, list_images, read_image
from .base import DEGRADATIONS, kind_of
from .pipeline import PRESETS, Preset, degrade, derive_seed, replay

__all__ = ["build_set", "replay_entry", "read_manifest", "contact_sheet", "center_crop_box", "MANIFEST_NAME", "ERRORS_NAME"]

MANIFEST_NAME = "manifest.jsonl"
#: Inputs that failed in the latest run (absent when none failed).
ERRORS_NAME = "errors.jsonl"


def center_crop_box(h: int, w: int, crop: int | tuple[int, int] | None) -> tuple[int, int, int, int] | None:
    """[top, left, height, width] of a centred crop of at most ``crop`` pixels per side."""
    if crop is None:
        return None
    ch, cw = (crop, crop) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
    if ch <= 0 or cw <= 0:
        raise ValueError(f"crop must be positive, got {crop}")
    ch, cw = min(ch, h), min(cw, w)
    return ((h - ch) // 2, (w - cw) // 2, ch, cw)


def _load_clean(path: str | os.PathLike[str], crop_box: Sequence[int] | None) -> np.ndarray:
    img = on_8bit_grid(read_image(path))  # the protocol works on 8-bit clean images
    if crop_box:
        t, l, h, w = (int(v) for v in crop_box)
        img = np.ascontiguousarray(img[:, t : t + h, l : l + w])
    return img


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Entries of a manifest (a file, or a folder holding ``manifest.jsonl``); a torn last
    line from an interrupted run is skipped."""
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def replay_entry(
    entry: Mapping[str, Any],
    *,
    clean_dir: str | os.PathLike[str] | None = None,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Re-create a manifest entry's degraded image from its ``clean`` file (and ``crop``),
    bit for bit.  ``clean_dir`` looks the clean file up by name in another folder (a set
    moved to another machine)."""
    clean_path = Path(entry["clean"]) if clean_dir is None else Path(clean_dir) / Path(entry["clean"]).name
    clean = _load_clean(clean_path, entry.get("crop"))
    return replay(clean, entry["records"], depth=depth)


def _entry_key(clean_name: str, combo: Sequence[str]) -> str:
    return f"{clean_name}|{'+'.join(combo)}"


def _append_line(path: Path, obj: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def build_set(
    src_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    preset: str | Preset,
    seed: int,
    *,
    limit: int | None = None,
    crop: int | tuple[int, int] | None = None,
    progress: bool = True,
    levels: Mapping[str, str] | None = None,
) -> Path:
    """Degrade every image of ``src_dir`` (sorted by name; the first ``limit``) with each
    combination of ``preset`` and write the PNGs and ``out_dir/manifest.jsonl``; returns the
    manifest path.  The seed of an image is ``derive_seed(seed, clean file name, names)``,
    so a set is reproducible byte for byte and independent of ``limit`` and of the order of
    work.  Re-running resumes: complete entries are skipped, existing outputs are never
    rewritten, clean inputs are only read.  Unreadable inputs are reported on stderr and
    skipped (the run does not stop); the latest run's failures are listed in
    ``out_dir/errors.jsonl``.  ``levels`` (name -> level) overrides the protocol ranges."""
    src, out = Path(src_dir), Path(out_dir)
    if not src.exists():
        raise ImageReadError(f"{src}: no such folder")
    if out.resolve() == (src.resolve() if src.is_dir() else src.resolve().parent):
        raise IrpilotError(f"the output folder must differ from the input folder ({out}); inputs are never touched")
    if isinstance(preset, str):
        if preset not in PRESETS:
            import difflib

            close = difflib.get_close_matches(preset, list(PRESETS), n=2)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise IrpilotError(f"unknown preset {preset!r}.{hint} Known: {', '.join(PRESETS)}.")
        preset = PRESETS[preset]
    files = list_images(src)
    if limit is not None:
        files = files[: max(int(limit), 0)]
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST_NAME
    levels = dict(levels or {})
    for name in levels:
        DEGRADATIONS.get(name)  # unknown names fail early, with did-you-mean
    existing = read_manifest(manifest)
    for e in existing:
        if e.get("base_seed") != int(seed) or (e.get("levels") or {}) != levels:
            raise IrpilotError(
                f"{out} holds a set made with seed {e.get('base_seed')} and levels {e.get('levels') or {}}; "
                f"use another output folder for seed {seed} and levels {levels}"
            )
    done = {_entry_key(Path(e["clean"]).name, e["degradations"]) for e in existing}
    if manifest.exists() and manifest.stat().st_size and not manifest.read_bytes().endswith(b"\n"):
        with open(manifest, "ab") as f:  # an interrupted run left a torn line: start a fresh one
            f.write(b"\n")
    errors: list[dict[str, str]] = []
    n_new = n_skip = n_err = 0
    total = len(files)
    stems = [p.stem for p in files]
    clashing = {st for st in stems if stems.count(st) > 1}  # a.png and a.jpg: keep both apart
    for i, path in enumerate(files, 1):
        combos = preset.combinations(path.name, int(seed))
        todo = [(g, c) for g, c in combos if _entry_key(path.name, c) not in done]
        if not todo:
            n_skip += len(combos)
            continue
        n_skip += len(combos) - len(todo)
        try:
            full = on_8bit_grid(read_image(path))  # the protocol works on 8-bit clean images
            box = center_crop_box(full.shape[1], full.shape[2], crop)
            clean = full if box is None else np.ascontiguousarray(
                full[:, box[0] : box[0] + box[2], box[1] : box[1] + box[3]]
            )
        except ImageReadError as exc:
            n_err += 1
            print(f"irpilot degrade: skipping unreadable input: {exc}", file=sys.stderr)
            errors.append({"clean": str(path.resolve()), "error": str(exc)})
            continue
        ref = str(path.resolve())
        reference = ref
        if box is not None:
            ref_rel = Path("clean") / (f"{path.stem}_{path.suffix[1:].lower()}.png" if path.stem in clashing else f"{path.stem}.png")
            if not (out / ref_rel).exists():
                atomic_write_bytes(out / ref_rel, encode_image(clean, ".png"))
            reference = ref_rel.as_posix()
        for group, combo in todo:
            img_seed = derive_seed(int(seed), path.name, combo)
            lq, records = degrade(clean, combo, img_seed, {k: v for k, v in levels.items() if k in combo})
            out_name = f"{path.stem}_{path.suffix[1:].lower()}.png" if path.stem in clashing else f"{path.stem}.png"
            rel = Path(group) / "+".join(combo) / out_name
            data = encode_image(lq, ".png")
            target = out / rel
            if target.exists():
                if target.read_bytes() != data:
                    n_err += 1
                    msg = (f"{target} exists with different content; not overwritten "
                           f"(remove it or use another output folder)")
                    print(f"irpilot degrade: {msg}", file=sys.stderr)
                    errors.append({"clean": ref, "error": msg})
                    continue
            else:
                atomic_write_bytes(target, data)
            entry = {
                "clean": ref,
                "reference": reference,
                "degraded": rel.as_posix(),
                "degradations": list(combo),
                "kinds": [kind_of(n) for n in combo],
                "params": {r.name: r.to_dict()["params"] for r in records},
                "records": [r.to_dict() for r in records],
                "seed": img_seed,
                "base_seed": int(seed),
                "levels": levels,
                "group": group,
                "preset": preset.name,
                "crop": list(box) if box else None,
                "clean_size": [int(clean.shape[1]), int(clean.shape[2])],
                "size": [int(lq.shape[1]), int(lq.shape[2])],
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            _append_line(manifest, entry)
            done.add(_entry_key(path.name, combo))
            n_new += 1
        if progress:
            print(f"[{i}/{total}] {path.name}: {len(todo)} degraded", file=sys.stderr, flush=True)
    err_path = out / ERRORS_NAME
    if errors:
        atomic_write_bytes(err_path, "".join(json.dumps(e) + "\n" for e in errors).encode())
    elif err_path.exists():
        err_path.unlink()
    if progress:
        print(f"irpilot degrade: {n_new} written, {n_skip} already done, {n_err} errors -> {manifest}",
              file=sys.stderr, flush=True)
    return manifest


def contact_sheet(
    entries: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    max_rows: int = 8,
    thumb: int = 192,
) -> Path:
    """A grid for people to look at: per row, a clean image then its degraded versions
    (low-resolution ones shown enlarged to the clean size), each labelled.  Rows are the
    first ``max_rows`` clean images of ``entries``."""
    from PIL import Image, ImageDraw

    out_dir = Path(out_dir)
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for e in entries:
        rows.setdefault(e["clean"], []).append(e)
    clean_keys = list(rows)[:max_rows]
    if not clean_keys:
        raise IrpilotError("no manifest entries to show in a contact sheet")

    def tile(img: np.ndarray, ref_shape: tuple[int, int]) -> Image.Image:
        im = Image.fromarray(to_uint8(img))
        if im.size != (ref_shape[1], ref_shape[0]):  # low resolution: show it enlarged, blocky
            im = im.resize((ref_shape[1], ref_shape[0]), Image.Resampling.NEAREST)
        im.thumbnail((thumb, thumb), Image.Resampling.LANCZOS)
        return im

    label_h = 28
    grid: list[list[tuple[Image.Image, str, str]]] = []
    for key in clean_keys:
        ref = rows[key][0].get("reference", key)
        clean = read_image(Path(ref) if Path(ref).is_absolute() else out_dir / ref)
        shape = (clean.shape[1], clean.shape[2])
        cells = [(tile(clean, shape), f"clean {Path(key).stem}", "")]
        for e in rows[key]:
            levels = ", ".join(str(e["params"][n].get("level", "")) for n in e["degradations"])
            cells.append((tile(read_image(out_dir / e["degraded"]), shape), " + ".join(e["degradations"]), levels))
        grid.append(cells)
    ncols = max(len(r) for r in grid)
    heights = [max(c[0].size[1] for c in r) + label_h for r in grid]
    sheet = Image.new("RGB", (ncols * thumb, sum(heights)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for cells, h in zip(grid, heights):
        for c, (im, label, levels) in enumerate(cells):
            sheet.paste(im, (c * thumb, y))
            draw.text((c * thumb + 3, y + h - label_h + 2), label[:34], fill=(0, 0, 0))
            draw.text((c * thumb + 3, y + h - label_h + 14), levels[:34], fill=(90, 90, 90))
        y += h
    dest = Path(path)
    buf = _io.BytesIO()
    sheet.save(buf, format="PNG")
    return atomic_write_bytes(dest, buf.getvalue())
