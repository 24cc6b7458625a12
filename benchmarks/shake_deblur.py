"""Camera shake: the motion-deblurring tools on real measured shake kernels.

Training photos (CSet14 and LIVE1 without its Kodak photographs; never Kodak24, CBSD68 or
McMaster) are blurred with the camera-shake kernels kept for evaluation in the data folder's
``kernels/``: Levin et al. 2009 (8 kernels, ``Levin09.mat``), the 8 motion kernels of
``kernels_12.mat`` (entries 4-11) and ``k_large_1/2.png``.  Each kernel is centred (sub-pixel) on its
centre of mass (the blur does not move the picture), the photo is blurred with reflected borders and
a margin of half the kernel is cut away, so every pixel kept was blurred by real content.
Three conditions: shake alone (8-bit), shake + Gaussian noise (sigma uniform in 5-10 / 255),
shake + JPEG (quality uniform in 60-80, PIL, 4:2:0).  Cases are seeded; photo i gets kernel
i mod 18, so every kernel appears.

With ``--kernels generated`` the same photos are shaken the way the realistic degradation family
does it instead (``real_motion_blur``: Boracchi-Foi random trajectories, path 10-32 px, in linear
light or sRGB, seeded per photo), and noise and JPEG are that family's too: ``real_noise``
(Poisson-Gaussian in sRGB or in the raw mosaic before demosaicking, 10-40 / 255 at mid-grey) and
``real_jpeg`` (quality 15-40, 4:2:0 / 4:4:4 / 4:2:2, half double-compressed).  The whole crop is
kept (reflected borders, as ``irpilot degrade`` makes it).

For every condition the table gives the mean PSNR / SSIM (irpilot.quality) of the input and of
each tool, the worst case's gain and the number of cases each tool made worse than its input.

Condition ``sharp`` (not run by default) gives each tool the photo itself, unblurred: a deblurring
tool should return it as it is (the agent's policies call the motion tools on photos perception
wrongly reads as motion-blurred, and their fallback runs ``shake_deblur_pnp``).  Its row gives
each tool's mean PSNR against the photo, the lowest, and how many photos it changed (below 40 dB).
``--perception`` adds perception's motion-blur reading of the inputs to each row: the agent runs
the motion tools' fallback only where that reading is at least 0.5 (``irpilot.agent.FALLBACK_MIN_PROB``).

    OMP_NUM_THREADS=1 python benchmarks/shake_deblur.py --n 18 --size 384 --out runs/shake

or one process per condition, then the table of all three:

    for c in shake shake+noise shake+jpeg; do
      OMP_NUM_THREADS=1 python benchmarks/shake_deblur.py --n 18 --size 384 --conditions $c --out runs/shake/$c &
    done; wait
    python benchmarks/shake_deblur.py --table runs/shake/*/cases.jsonl
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np

CONDITIONS = ("shake", "shake+noise", "shake+jpeg", "sharp")
DEFAULT_CONDITIONS = CONDITIONS[:3]
DEFAULT_TOOLS = ("motion_deblur_wiener", "motion_deblur_hqs", "shake_deblur_pnp")


def load_kernels(folder: Path) -> list[tuple[str, np.ndarray]]:
    """The evaluation kernels as ``(name, kernel)``, each non-negative with sum one."""
    import h5py
    import scipy.io
    from PIL import Image

    out: list[tuple[str, np.ndarray]] = []
    with h5py.File(folder / "Levin09.mat", "r") as f:  # MATLAB v7.3
        for i, ref in enumerate(np.asarray(f["kernels"][()]).ravel()):
            out.append((f"levin{i + 1}", np.asarray(f[ref][()]).T))
    k12 = scipy.io.loadmat(str(folder / "kernels_12.mat"))["kernels"]
    for i in range(4, 12):  # 0-3 are isotropic Gaussians
        out.append((f"k12_{i}", np.asarray(k12[0, i])))
    for n in (1, 2):
        out.append((f"k_large_{n}", np.asarray(Image.open(folder / f"k_large_{n}.png"), dtype=np.float64)))
    return [(name, np.maximum(k, 0) / np.maximum(k, 0).sum()) for name, k in out]


def shake(img: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(clean, blurred), both cropped by half the kernel on every side; the kernel is centred,
    to the sub-pixel, on its centre of mass and applied as a correlation on reflect-padded
    borders (``irpilot.tools.classical.blind_deblur.apply_kernel``)."""
    from irpilot.tools.classical.blind_deblur import apply_kernel

    blurred = apply_kernel(img, kernel.astype(np.float32))
    m = kernel.shape[0] // 2
    return img[:, m:-m, m:-m], blurred[:, m:-m, m:-m]


def _u8(x: np.ndarray) -> np.ndarray:
    return (np.floor(np.clip(x, 0, 1) * 255 + 0.5) / 255).astype(np.float32)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    from irpilot.io import from_uint8

    arr = np.floor(np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return from_uint8(np.asarray(Image.open(buf).convert("RGB")))


def degrade(blurred: np.ndarray, condition: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    if condition == "shake":
        return _u8(blurred), ""
    if condition == "shake+noise":
        sigma = float(rng.uniform(5, 10))
        return _u8(blurred + rng.normal(0, sigma / 255, blurred.shape)), f"sigma {sigma:.1f}"
    q = int(rng.integers(60, 81))
    return _jpeg(blurred, q), f"q {q}"


def generated_case(img: np.ndarray, condition: str, seed: list[int]) -> tuple[np.ndarray, dict]:
    """``img`` shaken by ``real_motion_blur``, then ``real_noise`` or ``real_jpeg`` for those
    conditions, each drawn from its own seeded generator; returns the input and the params."""
    from irpilot.degrade import get_degradation

    blur = get_degradation("real_motion_blur")
    pb = blur.sample(np.random.default_rng([*seed, 0]))
    x = blur.apply(img, pb)
    record: dict = {"real_motion_blur": pb}
    if condition != "shake":
        name = "real_noise" if condition == "shake+noise" else "real_jpeg"
        deg = get_degradation(name)
        params = deg.sample(np.random.default_rng([*seed, 1 + CONDITIONS.index(condition)]))
        x = deg.apply(x, params)
        record[name] = params
    return x, record


def photos(n: int, size: int, held_out: bool = False) -> list[tuple[str, np.ndarray]]:
    """The first ``n`` photos of CSet14 and LIVE1, or (``held_out``) of the photos irpilot's
    networks never train on (:func:`irpilot.train.compact.split_photos`' every 10th), centre-cropped."""
    if held_out:
        from irpilot.train.compact import split_photos

        _, val, names = split_photos()
        found = [(name.rsplit(".", 1)[0], img) for name, img in zip(names, val)]
    else:
        from irpilot.data import training_photo_paths
        from irpilot.io import read_image

        found = [(f"{p.parent.name}/{p.stem}", read_image(p)) for p in training_photo_paths(sets=("CSet14", "LIVE1"))[:n]]
    out = []
    for name, img in found[:n]:
        if size:
            _, h, w = img.shape
            s = min(size, h, w)
            img = img[:, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        out.append((name, img))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=18, help="photos (each gets one kernel, all three conditions)")
    ap.add_argument("--size", type=int, default=384, help="centre crop side (0 = whole photo)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                    help="comma-separated tools, each optionally with arguments: shake_deblur_pnp:kernel_size=17")
    ap.add_argument("--conditions", default=",".join(DEFAULT_CONDITIONS), help=f"of {', '.join(CONDITIONS)}")
    ap.add_argument("--kernels", choices=("real", "generated"), default="real",
                    help="real: the measured kernels of the data folder, mild noise / JPEG; generated: "
                    "the realistic family (real_motion_blur, real_noise, real_jpeg)")
    ap.add_argument("--held-out", action="store_true",
                    help="the 13 photos held out of every network's training (split_photos) instead of CSet14 and LIVE1 "
                    "(which shake_deblur_pnp's refinement network trains on)")
    ap.add_argument("--out", default="", help="folder for per-case JSON lines and PNGs of each case")
    ap.add_argument("--perception", action="store_true",
                    help="also record perception's motion-blur reading of each input (the agent runs the motion "
                    "tools' fallback only where it is at least 0.5)")
    ap.add_argument("--table", nargs="*", default=None, metavar="CASES_JSONL",
                    help="only print the table of these cases.jsonl files (runs split by condition)")
    args = ap.parse_args()
    if args.table is not None:
        rows = [json.loads(line) for path in args.table for line in Path(path).read_text().splitlines() if line]
        tools = [t for t in args.tools.split(",") if t and all(t in r for r in rows)]
        print(table(rows, tools, [c for c in CONDITIONS if any(r["condition"] == c for r in rows)]))
        return

    from tools_bench import tool_with_arguments

    from irpilot.config import settings
    from irpilot.io import write_image
    from irpilot.quality import score

    # a tool, or a tool with arguments: shake_deblur_pnp:kernel_size=17
    tools = {spec: tool_with_arguments(spec) for spec in args.tools.split(",") if spec}
    conditions = [c for c in args.conditions.split(",") if c]
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        raise SystemExit(f"unknown condition(s) {unknown}; choose from {CONDITIONS}")
    kernels = load_kernels(Path(settings.data_dir) / "kernels") if args.kernels == "real" else []
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    perceiver = None
    if args.perception:
        from irpilot.perceive import load_default_perceiver

        perceiver = load_default_perceiver()
        if perceiver is None:
            raise SystemExit("--perception: no perception model could be loaded (see irpilot tools)")
    rows: list[dict] = []
    for i, (pname, img) in enumerate(photos(args.n, args.size, args.held_out)):
        if kernels:
            kname, kernel = kernels[i % len(kernels)]
            clean, blurred = shake(img, kernel)
        for cond in conditions:
            label = kname if kernels else ""
            if cond == "sharp":  # the photo itself, no blur (cropped as the shaken ones are)
                if not kernels:
                    clean = img
                x, label, detail = clean, "none", ""
            elif kernels:
                # seeded by the condition's name, so a run of one condition draws the same cases
                rng = np.random.default_rng([args.seed, i, CONDITIONS.index(cond)])
                x, detail = degrade(blurred, cond, rng)
            else:
                clean = img
                x, record = generated_case(img, cond, [args.seed, i])
                pb = record["real_motion_blur"]
                label = f"path {pb['length'] * pb['exposure']:.1f} px ({pb['space']})"
                detail = json.dumps({k: v for k, v in record.items() if k != "real_motion_blur"})
            row = {"photo": pname, "kernel": label, "condition": cond, "detail": detail,
                   "input": score(x, clean, ["psnr", "ssim"])}
            if perceiver is not None:
                row["perceived_motion_blur"] = round(float(perceiver(x).probs["motion_blur"]), 3)
            stem = f"{i:02d}_{cond}"
            if out:
                write_image(out / f"{stem}_clean.png", clean)
                write_image(out / f"{stem}_input.png", x)
            for tname, tool in tools.items():
                t0 = time.perf_counter()
                y = tool(x)
                row[tname] = {**score(y, clean, ["psnr", "ssim"]), "seconds": time.perf_counter() - t0}
                if out:
                    write_image(out / f"{stem}_{tname}.png", y)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if out:
                with open(out / "cases.jsonl", "a") as f:
                    f.write(json.dumps(row) + "\n")
    print(table(rows, list(tools), conditions))


def table(rows: list[dict], tools: list[str], conditions: list[str]) -> str:
    """Markdown: per condition, mean PSNR / SSIM of the input and each tool, its mean gain, the
    worst case's gain and the cases made worse."""
    seen = any("perceived_motion_blur" in r for r in rows)
    head = "| condition | n | input | " + " | ".join(tools) + " |" + (" perceived motion blur |" if seen else "")
    lines = [head, "|" + " --- |" * (3 + len(tools) + seen)]
    for cond in conditions:
        rs = [r for r in rows if r["condition"] == cond]
        if not rs:
            continue
        if seen:  # perception's reading of the inputs: mean (lowest-highest; at least 0.5)
            pm = [r["perceived_motion_blur"] for r in rs if "perceived_motion_blur" in r]
            reading = f" {np.mean(pm):.2f} ({min(pm):.2f}-{max(pm):.2f}; {sum(p >= 0.5 for p in pm)} of {len(pm)} >= 0.5) |"
        else:
            reading = ""
        if cond == "sharp":  # the input is the photo: PSNR against it, and the photos changed
            cells = ["(the photo)"]
            for t in tools:
                ps = [min(float(r[t]["psnr"]), 99.0) for r in rs]
                cells.append(f"{np.mean(ps):.2f} (lowest {min(ps):.2f}, {sum(p < 40 for p in ps)} changed)")
            lines.append(f"| {cond} | {len(rs)} | " + " | ".join(cells) + " |" + reading)
            continue
        cells = [f"{np.mean([r['input']['psnr'] for r in rs]):.2f} / {np.mean([r['input']['ssim'] for r in rs]):.3f}"]
        for t in tools:
            p = np.mean([r[t]["psnr"] for r in rs])
            s = np.mean([r[t]["ssim"] for r in rs])
            gain = p - np.mean([r["input"]["psnr"] for r in rs])
            worse = sum(r[t]["psnr"] < r["input"]["psnr"] - 0.05 for r in rs)
            worst = min(r[t]["psnr"] - r["input"]["psnr"] for r in rs)
            sec = np.mean([r[t]["seconds"] for r in rs])
            cells.append(f"{p:.2f} / {s:.3f} ({gain:+.2f} dB, worst {worst:+.2f}, {worse} worse, {sec:.1f} s)")
        lines.append(f"| {cond} | {len(rs)} | " + " | ".join(cells) + " |" + reading)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
