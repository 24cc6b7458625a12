"""Fits and measures ``hsv_value_inverse``'s darkening check.

The tool inverts the darkening recipes of the benchmark protocol.  On a photo that was not
darkened, inverting brightens it and costs several dB; an agent calls the tool on such photos
whenever perception rates them dark (its precision for ``dark`` is 0.68).  The check reads five
statistics of the value histogram (:func:`irpilot.tools.classical.lowlight.darkness_features`)
and a logistic score decides.

This script draws 256 px crops of the *training* photos for each combination below, with the
denoising or JPEG removal an agent runs first (FFDNet, DnCNN-3), and for each crop records the
features and the PSNR gain of the tool without the check.  Low-resolution crops are scored
after a Lanczos x4 of both the input and the tool's output.  It fits the logistic score on the
``--fit`` seeds (label: the crop was darkened) and picks the threshold that maximises the mean
gain over darkened and other combinations weighted equally.  It then reports, on the ``--test``
seed, the mean gain per combination (worst crop) without the check, with the freshly fitted
rule and with the shipped tool (``DARK_CHECK``).

    OMP_NUM_THREADS=1 python benchmarks/lowlight_check.py --n 16 --fit 99,101 --test 100
"""

from __future__ import annotations

import argparse

import numpy as np

COMBOS: dict[str, list[str]] = {
    "clean": [],
    "dark": ["dark"],
    "dark+noise": ["dark", "noise"],
    "dark+jpeg": ["dark", "jpeg"],
    "dark+noise+jpeg": ["dark", "noise", "jpeg"],
    "haze+dark": ["haze", "dark"],
    "dark+lr": ["dark", "low_resolution"],
    "noise": ["noise"],
    "jpeg": ["jpeg"],
    "noise+jpeg": ["noise", "jpeg"],
    "haze": ["haze"],
    "rain": ["rain"],
    "defocus+lr": ["defocus_blur", "low_resolution"],
    "rain+lr": ["rain", "low_resolution"],
    "noise+lr": ["noise", "low_resolution"],
    "jpeg+lr": ["jpeg", "low_resolution"],
}


def collect(seed: int, n: int, size: int, shipped: bool) -> dict[str, dict[str, np.ndarray]]:
    """Per combination: features (n, 5), gain without the check (n,), gain of the shipped tool (n,)."""
    from irpilot.quality import score
    from irpilot.tools import get_tool
    from irpilot.tools.classical.lowlight import darkness_features
    from irpilot.train.data import make_case, training_photos

    photos = training_photos()
    tool, dejpeg, denoise, up = (get_tool(t) for t in ("hsv_value_inverse", "dncnn3_dejpeg", "ffdnet_color", "lanczos_x4"))

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:  # a clean crop against itself: capped at 60
        return min(60.0, float(score(img, ref, ["psnr"])["psnr"]))

    out: dict[str, dict[str, np.ndarray]] = {}
    for label, names in COMBOS.items():
        feats, plain, checked = [], [], []
        for i in range(n):
            case = make_case(np.random.default_rng([seed, i, len(label)]), photos, size=(size, size), names=names)
            x = dejpeg(case.degraded) if "jpeg" in names else denoise(case.degraded) if "noise" in names else case.degraded
            lift = up if "low_resolution" in names else (lambda img: img)
            base = psnr(lift(x), case.clean)
            feats.append(darkness_features(x))
            plain.append(psnr(lift(tool(x, check=False)), case.clean) - base)
            checked.append(psnr(lift(tool(x)), case.clean) - base if shipped else np.nan)
        out[label] = {"features": np.array(feats), "plain": np.array(plain), "shipped": np.array(checked)}
    return out


def cached(folder: str | None, seed: int, n: int, size: int) -> dict[str, dict[str, np.ndarray]]:
    """:func:`collect` without the shipped tool, kept in ``folder`` when given."""
    from pathlib import Path

    path = Path(folder) / f"lowlight_seed{seed}_n{n}_s{size}.npz" if folder else None
    if path is not None and path.exists():
        z = np.load(path)
        return {c: {k: z[f"{c}/{k}"] for k in ("features", "plain", "shipped")} for c in COMBOS}
    data = collect(seed, n, size, shipped=False)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{f"{c}/{k}": v for c, d in data.items() for k, v in d.items()})
    return data


def fit(data: list[dict[str, dict[str, np.ndarray]]]) -> np.ndarray:
    """Logistic weights and bias on the raw features, the chosen threshold folded into the bias."""
    from scipy.optimize import minimize

    X = np.concatenate([d[c]["features"] for d in data for c in COMBOS])
    y = np.concatenate([np.full(len(d[c]["plain"]), "dark" in c, float) for d in data for c in COMBOS])
    mu, sd = X.mean(0), X.std(0)
    Z = np.column_stack([(X - mu) / sd, np.ones(len(X))])

    def nll(w: np.ndarray) -> float:
        z = Z @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 1e-3 * (w[:-1] ** 2).sum())

    w = minimize(nll, np.zeros(Z.shape[1]), method="BFGS").x
    raw = np.append(w[:-1] / sd, w[-1] - float(np.dot(w[:-1], mu / sd)))

    def balanced(t: float) -> float:
        return float(sum(class_means(data, raw - np.append(np.zeros(len(mu)), t))))

    thresholds = np.round(np.arange(-3.0, 3.0, 0.1), 1)
    t = max(thresholds, key=balanced)
    return raw - np.append(np.zeros(len(mu)), t)


def gains(d: dict[str, np.ndarray], rule: np.ndarray | None) -> np.ndarray:
    from irpilot.tools.classical.lowlight import darkening_score

    if rule is None:
        return d["plain"]
    darkened = darkening_score(d["features"], rule) > 0
    return np.where(darkened, d["plain"], 0.0)


def class_means(data: list[dict[str, dict[str, np.ndarray]]], rule: np.ndarray | None) -> tuple[float, float]:
    """Mean gain over the darkened combinations and over the others (each combination counts
    once; not ``clean``, whose input PSNR is infinite, so its gain is only the cap)."""
    per = {c: float(np.mean(np.concatenate([gains(d[c], rule) for d in data]))) for c in COMBOS if c != "clean"}
    dark = [v for c, v in per.items() if "dark" in c]
    other = [v for c, v in per.items() if "dark" not in c]
    return float(np.mean(dark)), float(np.mean(other))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16, help="crops per combination and seed")
    ap.add_argument("--fit", default="99,101", help="seeds the check is fit on")
    ap.add_argument("--test", type=int, default=100, help="seed it is measured on")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--fit-only", action="store_true", help="print the fitted coefficients and stop")
    ap.add_argument("--cache", help="folder keeping the fit seeds' measurements between runs")
    args = ap.parse_args()

    from irpilot.tools.classical.lowlight import DARK_CHECK, darkening_score

    train = [cached(args.cache, int(s), args.n, args.size) for s in args.fit.split(",")]
    rule = fit(train)
    print("fitted DARK_CHECK = (" + ", ".join(f"{v:.4g}" for v in rule) + ")")
    if args.fit_only:
        return
    print("shipped DARK_CHECK = (" + ", ".join(f"{v:.4g}" for v in DARK_CHECK) + ")\n")
    test = collect(args.test, args.n, args.size, shipped=True)
    print(f"{args.n} crops of {args.size} px per combination, training photos, seed {args.test}: "
          "PSNR gain of hsv_value_inverse, mean (worst crop)\n")
    print("| crops | looks darkened (shipped) | without check | fitted check | shipped tool |")
    print("|---|---|---|---|---|")
    for c in COMBOS:
        d = test[c]
        flagged = int(np.sum(darkening_score(d["features"]) > 0))
        cells = " | ".join(f"{g.mean():+.2f} (worst {g.min():+.2f})" for g in (d["plain"], gains(d, rule), d["shipped"]))
        print(f"| {c} | {flagged} / {args.n} | {cells} |")
    for name, r in (("without check", None), ("fitted check", rule)):
        dk, other = class_means([test], r)
        print(f"\n{name}: darkened combinations {dk:+.2f} dB, the others {other:+.2f} dB", end="")
    dk = np.mean([test[c]["shipped"].mean() for c in COMBOS if "dark" in c])
    other = np.mean([test[c]["shipped"].mean() for c in COMBOS if "dark" not in c and c != "clean"])
    print(f"\nshipped tool: darkened combinations {dk:+.2f} dB, the others {other:+.2f} dB")


if __name__ == "__main__":
    main()
