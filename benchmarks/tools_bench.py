"""Toolbox benchmark: every available tool on its own single degradation.

For each of the eight protocol degradations, crops of test photos (Kodak24, CBSD68,
McMaster) are degraded with ``irpilot.degrade`` (protocol recipe, one seed per crop) and
every available tool of the matching task restores them.  Reported per tool: PSNR/SSIM of
the degraded input and of the output against the clean crop, the gain, seconds per 512x512
image (per 512x512 *output* for x4 super-resolution, i.e. a 128x128 input), and the peak
resident memory of a run on a 12-megapixel photo (4000x3000; for x4 SR a 1000x750 input,
whose output is 12 MP) in a fresh subprocess.

Low-resolution inputs are 1/4 size; they are scored after MATLAB-style bicubic x4
(``irpilot.quality.align_to_reference``), and SR outputs are compared with the clean crop.

    python benchmarks/tools_bench.py                       # quality + speed, then memory
    python benchmarks/tools_bench.py --no-memory --crops 4 --size 256
    python benchmarks/tools_bench.py --memory-only --resume
    python benchmarks/tools_bench.py --markdown-only       # rewrite the BENCHMARKS.md section
    python benchmarks/tools_bench.py --photos training --no-memory --crops 8 \
        --out benchmarks/results/tools_training.json    # the ranking the agent's toolbox uses

``--photos training`` draws the crops from the training photos instead (T91, CSet14, LIVE1
without its Kodak photographs, classic5): the order of each task's tools
in the agent's toolbox (``irpilot.policies.common.PREFERRED_TOOLS``) must not be chosen on
the test sets.  Its table goes to its own section of ``BENCHMARKS.md``.

Results go to ``benchmarks/results/tools.json`` (written after every tool, so a long run
can be resumed with ``--resume``) and the "Toolbox" section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from _common import peak_rss_mb  # noqa: E402

from irpilot.config import settings  # noqa: E402
from irpilot.degrade import DEGRADATION_TO_TASK, PROTOCOL_DEGRADATIONS, degrade  # noqa: E402
from irpilot.io import list_images, read_image  # noqa: E402
from irpilot.quality.base import align_to_reference  # noqa: E402
from irpilot.quality.full_reference import psnr, ssim  # noqa: E402
from irpilot.tools import TOOLS, get_tool  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "tools.json"
MARK_START = "<!-- toolbox-benchmark:start -->"
MARK_END = "<!-- toolbox-benchmark:end -->"
SETS = ("Kodak24", "CBSD68", "McMaster")
MEM_LIMIT_MB = 4096


# -- data ------------------------------------------------------------------------------------
def tool_with_arguments(spec: str) -> Callable[[np.ndarray], np.ndarray]:
    """``name`` or ``name:key=value:...`` -> a callable running the tool with those arguments
    (values read as ``irpilot tools run --arg`` reads them, by the card's types)."""
    from irpilot.cli.tools import parse_args_kv

    name, *pairs = spec.split(":")
    tool = get_tool(name)
    kwargs = parse_args_kv(pairs, tool.card.arguments)
    return lambda x: tool(x, **kwargs)


def test_crops(n: int, size: int, seed: int = 0, photos: str = "test") -> list[tuple[str, np.ndarray]]:
    """``n`` crops of ``size`` x ``size``, photos drawn round-robin from the three test sets
    (``photos="test"``) or from the training sets (``photos="training"``)."""
    rng = np.random.default_rng(seed)
    pools = []
    if photos == "training":
        from irpilot.data import training_photo_paths

        by_set: dict[str, list[Path]] = {}
        for path in training_photo_paths():
            by_set.setdefault(path.parent.name, []).append(path)
        # photos big enough for a full crop; T91's are often smaller
        pools = [(k, v) for k, v in sorted(by_set.items())]
        if not pools:
            raise SystemExit("no training photos found (set IRPILOT_DATA_DIR)")
    else:
        if settings.data_dir is None:
            raise SystemExit("no data directory (set IRPILOT_DATA_DIR)")
        for name in SETS:
            folder = Path(settings.data_dir) / name
            if folder.is_dir():
                pools.append((name, list_images(folder)))
        if not pools:
            raise SystemExit(f"none of {SETS} under {settings.data_dir}")
    crops = []
    for i in range(n):
        set_name, files = pools[i % len(pools)]
        path = files[int(rng.integers(len(files)))]
        img = read_image(path)
        _, h, w = img.shape
        s = min(size, h, w) // 4 * 4
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        crops.append((f"{set_name}/{path.name}@{y},{x}", np.ascontiguousarray(img[:, y : y + s, x : x + s])))
    return crops


def degraded_sets(crops: list[tuple[str, np.ndarray]]) -> dict[str, list[tuple[np.ndarray, np.ndarray, list]]]:
    """degradation -> [(clean, degraded, records)], one seed per crop."""
    out: dict[str, list[tuple[np.ndarray, np.ndarray, list]]] = {}
    for deg in PROTOCOL_DEGRADATIONS:
        items = []
        for i, (_, clean) in enumerate(crops):
            lq, records = degrade(clean, [deg], seed=1000 + i)
            items.append((clean, lq, [r.params if hasattr(r, "params") else str(r) for r in records]))
        out[deg] = items
    return out


def _scores(img: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    img = align_to_reference(img, ref)
    return psnr(img, ref), ssim(img, ref)


# -- quality and speed -------------------------------------------------------------------------
def bench_tool(name: str, items: list[tuple[np.ndarray, np.ndarray, list]], time_size: int) -> dict[str, Any]:
    tool = get_tool(name)
    card = tool.card
    row: dict[str, Any] = {"task": card.task, "kind": card.kind, "scale": card.scale}
    try:
        lq0 = items[0][1]
        tool(np.ascontiguousarray(lq0[:, :24, :24]))  # load weights outside the timings
        pin, sin, pout, sout, secs = [], [], [], [], []
        for clean, lq, _ in items:
            t0 = time.perf_counter()
            out = tool(lq)
            secs.append(time.perf_counter() - t0)
            a, b = _scores(lq, clean)
            c, d = _scores(out, clean)
            pin.append(a), sin.append(b), pout.append(c), sout.append(d)
        row.update(
            psnr_in=float(np.mean(pin)), ssim_in=float(np.mean(sin)),
            psnr_out=float(np.mean(pout)), ssim_out=float(np.mean(sout)),
            psnr_per_image=[round(v, 3) for v in pout], seconds_per_crop=float(np.mean(secs)),
        )
        row["psnr_gain"] = row["psnr_out"] - row["psnr_in"]
        row["ssim_gain"] = row["ssim_out"] - row["ssim_in"]
        # seconds per 512x512 image (SR: per 512x512 output), extrapolated from the crops
        # (cost grows with the pixel count for every tool here), and optionally measured
        out_px = items[0][0].shape[1] * items[0][0].shape[2]
        row["sec_512"] = row["seconds_per_crop"] * (512 * 512) / out_px
        if not time_size:
            return row
        side = time_size // card.scale
        rng = np.random.default_rng(0)
        big = np.clip(np.repeat(np.repeat(items[0][0], 4, 1), 4, 2)[:, :side, :side]
                      + rng.normal(0, 0.02, (3, side, side)), 0, 1).astype(np.float32)
        t0 = time.perf_counter()
        tool(big)
        row["sec_512_measured"] = time.perf_counter() - t0
    except Exception as exc:  # report and continue: one broken tool must not stop the benchmark
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row


# -- memory ----------------------------------------------------------------------------------
def memory_child(name: str, h: int, w: int) -> None:
    """Run ``name`` once on an (h, w) photo-like image and print JSON with peak RSS."""
    tool = get_tool(name)
    s = tool.card.scale
    h, w = h // s, w // s
    import cv2

    base = read_image(sorted((Path(settings.data_dir) / "Kodak24").glob("*.png"))[0])
    img = cv2.resize(base.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_CUBIC).transpose(2, 0, 1)
    img = np.ascontiguousarray(np.clip(img, 0, 1), dtype=np.float32)
    # VmHWM (peak RSS of this process image), not ru_maxrss: on Linux ru_maxrss survives
    # fork+exec, so a child of a large parent would report the parent's size
    rss_before = peak_rss_mb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    out = tool(img)
    dt = time.perf_counter() - t0
    peak = peak_rss_mb(os.getpid()) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak, "rss_before_mb": rss_before, "seconds": dt,
                      "input": [h, w], "output": list(out.shape[1:])}))



def bench_memory(name: str, h: int, w: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", name, "--mem-size", f"{w}x{h}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0, hwm = time.time(), 0.0
    while proc.poll() is None:
        hwm = max(hwm, peak_rss_mb(proc.pid) or 0.0)
        if time.time() - t0 > timeout:
            proc.kill()
            proc.wait()
            return {"mem_error": f"timeout after {timeout:.0f} s", "peak_rss_mb_at_least": hwm}
        time.sleep(0.5)
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {"mem_error": (err.strip().splitlines() or ["failed"])[-1][:300], "peak_rss_mb_at_least": hwm}
    res = json.loads(out.strip().splitlines()[-1])
    return {"peak_rss_mb": res["peak_rss_mb"], "rss_before_mb": res["rss_before_mb"],
            "mem_seconds": res["seconds"], "mem_input": res["input"]}


# -- reporting -------------------------------------------------------------------------------
def best_per_task(tools: dict[str, dict[str, Any]]) -> dict[str, str]:
    best: dict[str, str] = {}
    for name, r in tools.items():
        if "psnr_out" not in r:
            continue
        cur = best.get(r["task"])
        if cur is None or r["psnr_out"] > tools[cur]["psnr_out"]:
            best[r["task"]] = name
    return best


def _markers(res: dict[str, Any]) -> tuple[str, str]:
    if res.get("photos") == "training":
        return MARK_START.replace("benchmark", "training"), MARK_END.replace("benchmark", "training")
    return MARK_START, MARK_END


def markdown(res: dict[str, Any]) -> str:
    tools = res["tools"]
    best = best_per_task(tools)
    training = res.get("photos") == "training"
    start, end = _markers(res)
    lines = [
        start,
        "### Toolbox on training photos (the agent's tool order)" if training else "## Toolbox",
        "",
        "Every available tool on its own single degradation (protocol recipe via `irpilot.degrade`, one seed per crop):",
        f"{res['crops_n']} crops of up to {res['crop_size']}x{res['crop_size']} drawn from "
        + ("the training photos (T91, CSet14, LIVE1 without its Kodak photographs, classic5) " if training
           else "Kodak24, CBSD68 and McMaster ")
        +
        "(the same crops for every degradation). PSNR/SSIM against the clean crop; the low-resolution input (1/4 size) "
        "is scored after MATLAB bicubic x4, SR outputs are compared at full size. sec/512: seconds for one 512x512 "
        "image (x4 SR: 128x128 input, 512x512 output), extrapolated from the crop timings by pixel count, on a machine shared with other jobs (load average "
        f"{res.get('load_average', '?')}), so times are inflated and only roughly comparable. Peak RSS: a fresh process "
        "running the tool once on a 12 MP photo (4000x3000; x4 SR: 1000x750 input, 12 MP output), read from the "
        "process's VmHWM; it includes about 0.5 GB of baseline (Python, the toolbox, torch, the input image); "
        "\">= X (timeout)\" is the peak reached before the time limit, a lower bound; limit 4 GB. "
        "**Bold** = best output PSNR of the task.",
        "",
        "Commands (in order): " + "; ".join(f"`{c}`" for c in res.get("commands", [res["command"]])) + "  ",
        f"Date: {res['date']}; machine: {res['machine']}.",
        "",
        "| task | tool | PSNR in | PSNR out | gain | SSIM in | SSIM out | sec/512 | peak RSS 12 MP (MB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = {t: i for i, t in enumerate(DEGRADATION_TO_TASK.values())}
    for name, r in sorted(tools.items(), key=lambda kv: (order.get(kv[1]["task"], 99), -kv[1].get("psnr_out", -1))):
        if "psnr_out" in r:
            q = (f"{r['psnr_in']:.2f} | {r['psnr_out']:.2f} | {r['psnr_gain']:+.2f} | {r['ssim_in']:.3f} | "
                 f"{r['ssim_out']:.3f} | {r.get('sec_512', float('nan')):.2f}")
        else:
            q = f"error: {r.get('error', '?')[:80]} | | | | |"
        if "peak_rss_mb" in r:
            mem = f"{r['peak_rss_mb']:.0f}" + (" **> 4 GB**" if r["peak_rss_mb"] > MEM_LIMIT_MB else "")
        elif "mem_error" in r:
            low = r.get("peak_rss_mb_at_least", 0)
            mem = f">= {low:.0f} ({r['mem_error']})" + (" **> 4 GB**" if low > MEM_LIMIT_MB else "")
        else:
            mem = "not run"
        label = f"**{name}**" if best.get(r["task"]) == name else name
        lines.append(f"| {r['task']} | {label} | {q} | {mem} |")
    never = [n for n, r in tools.items() if "psnr_gain" in r and r["psnr_gain"] < -0.01 and r["ssim_gain"] < -0.001]
    lines += ["", "Best tool per task (output PSNR): " + ", ".join(f"{t}: `{n}`" for t, n in best.items()) + "."]
    if never:
        lines.append("Tools that lower both PSNR and SSIM on their own degradation here: "
                     + ", ".join(f"`{n}`" for n in sorted(never)) + ".")
    skipped = res.get("unavailable", {})
    if skipped:
        lines.append("Unavailable (not run): " + "; ".join(f"`{n}`: {why}" for n, why in skipped.items()) + ".")
    lines.append(end)
    return "\n".join(lines) + "\n"


def write_markdown(res: dict[str, Any], path: Path) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# irpilot benchmarks\n"
    section = markdown(res)
    start, end = _markers(res)
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _save(res: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, default=float), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=int, default=4)
    ap.add_argument("--photos", choices=("test", "training"), default="test",
                    help="draw the crops from the test sets (default) or from the training photos")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--time-size", type=int, default=0, help="also time one image of this side (0: no)")
    ap.add_argument("--tools", nargs="*", help="only these tools")
    ap.add_argument("--tasks", nargs="*", help="only tools of these tasks")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true")
    ap.add_argument("--mem-size", default="4000x3000", help="WxH of the memory test photo")
    ap.add_argument("--mem-timeout", type=float, default=900.0, help="seconds per tool for the memory run")
    ap.add_argument("--resume", action="store_true", help="keep results already in the JSON (measured with the same tool version)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    ap.add_argument("--markdown-only", action="store_true")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    mw, mh = (int(v) for v in args.mem_size.lower().split("x"))

    if args.memory_child:
        memory_child(args.memory_child, mh, mw)
        return 0

    res: dict[str, Any] = {}
    if (args.resume or args.memory_only or args.markdown_only) and args.out.is_file():
        res = json.loads(args.out.read_text(encoding="utf-8"))
    if args.markdown_only:
        write_markdown(res, args.markdown)
        return 0
    res.setdefault("tools", {})
    command = "python benchmarks/tools_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    commands = [c for c in res.get("commands", [res["command"]] if "command" in res else []) if c != command]
    res.update(
        command=command,
        commands=commands + [command],
        date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        machine=f"{os.cpu_count()} CPU cores, no GPU, Python {platform.python_version()}",
        crops_n=res.get("crops_n", args.crops), crop_size=res.get("crop_size", args.size), photos=args.photos,
        load_average=" / ".join(f"{v:.1f}" for v in os.getloadavg()),
    )
    names = [n for n in TOOLS.names() if (not args.tools or n in args.tools)]
    names = [n for n in names if not args.tasks or TOOLS.get(n).card.task in args.tasks]
    res["unavailable"] = {n: TOOLS.get(n).unavailable_reason() for n in names if not TOOLS.get(n).available()}
    names = [n for n in names if n not in res["unavailable"]]
    task_to_deg = {t: d for d, t in DEGRADATION_TO_TASK.items() if d in PROTOCOL_DEGRADATIONS}

    if not args.memory_only:
        crops = test_crops(args.crops, args.size, photos=args.photos)
        res["crops"] = [c[0] for c in crops]
        sets = degraded_sets(crops)
        for name in names:
            task = TOOLS.get(name).card.task
            if task not in task_to_deg:
                continue
            card = TOOLS.get(name).card
            prev = res["tools"].get(name, {})
            # measured again: a stored result of another version of the tool, or one stored without its
            # version (before versions were kept) of a tool named in --tools
            stored = prev.get("version")
            stale = stored not in (None, card.version) or (stored is None and name in (args.tools or ()))
            if args.resume and "psnr_out" in prev and not stale:
                continue
            t0 = time.time()
            row = bench_tool(name, sets[task_to_deg[task]], args.time_size)
            row["degradation"] = task_to_deg[task]
            row["version"] = card.version
            keep = {k: v for k, v in res["tools"].get(name, {}).items() if k.startswith(("peak_rss", "mem_", "rss_"))}
            res["tools"][name] = {**keep, **row}  # fresh quality fields (a stale error must not survive)
            print(f"{name:28s} {task:16s} " + (
                f"{row['psnr_in']:6.2f} -> {row['psnr_out']:6.2f} dB  SSIM {row['ssim_in']:.3f} -> {row['ssim_out']:.3f}"
                f"  {row['sec_512']:.2f} s/512" if "psnr_out" in row else row.get("error", "")
            ) + f"  ({time.time() - t0:.0f} s)", flush=True)
            _save(res, args.out)
        res["best_per_task"] = best_per_task(res["tools"])
        _save(res, args.out)

    if not args.no_memory:
        for name in names:
            if TOOLS.get(name).card.task not in task_to_deg:
                continue
            prev = res["tools"].get(name, {})
            if args.resume and ("peak_rss_mb" in prev or "mem_error" in prev):
                continue
            m = bench_memory(name, mh, mw, args.mem_timeout)
            res["tools"].setdefault(name, {"task": TOOLS.get(name).card.task})
            for k in ("peak_rss_mb", "rss_before_mb", "mem_error", "peak_rss_mb_at_least", "mem_seconds", "mem_input"):
                res["tools"][name].pop(k, None)
            res["tools"][name].update(m)
            print(f"{name:28s} memory: {m}", flush=True)
            _save(res, args.out)
    res["best_per_task"] = best_per_task(res["tools"])
    _save(res, args.out)
    write_markdown(res, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
