"""How often a photo that was not darkened is read as dark, by perception and by
``hsv_value_inverse``'s darkening check: 60 test crops of 320 px, clean and with the protocol's
``dark`` (seed 77 + i).  Prints, per kind, how many crops perception rates dark (p > 0.5), how many
the check accepts (score > 0), both, and the scores of the clean crops that pass both.

    OMP_NUM_THREADS=1 python benchmarks/false_dark.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tools_bench import test_crops  # noqa: E402

from irpilot.degrade import degrade  # noqa: E402
from irpilot.perceive import load_default_perceiver  # noqa: E402
from irpilot.tools.classical.lowlight import darkening_score, darkness_features  # noqa: E402


def main() -> int:
    p = load_default_perceiver()
    rows = []
    for i, (_, c) in enumerate(test_crops(60, 320, seed=5)):
        for kind, img in (("clean", c), ("dark", degrade(c, ["dark"], seed=77 + i)[0])):
            rows.append((kind, p(img).probs["dark"], float(darkening_score(darkness_features(img)))))
    for kind in ("clean", "dark"):
        pr = np.array([r[1] for r in rows if r[0] == kind])
        sc = np.array([r[2] for r in rows if r[0] == kind])
        print(kind, "n", len(pr), "perceived dark", int((pr > 0.5).sum()), "check accepts", int((sc > 0).sum()),
              "both", int(((pr > 0.5) & (sc > 0)).sum()), "check score quartiles", np.round(np.quantile(sc, [0.25, 0.5, 0.75]), 2))
        both = [(round(a, 2), round(b, 2)) for k, a, b in rows if k == kind and a > 0.5 and b > 0]
        if kind == "clean":
            print("  clean crops passing both (p, score):", both)
        else:
            print("  darkened crops the check accepts with a score below 1:", sum(1 for k, a, b in rows if k == kind and 0 < b < 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
