"""``irpilot bench`` resumes past a results line cut by an interrupted write."""

from __future__ import annotations

import json

import numpy as np
import skimage.data

from irpilot.bench.runner import BenchConfig, run_bench
from irpilot.io import write_image
from irpilot.pool import Pool


def _complete_rows(path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return rows


def test_a_cut_last_line_is_redone(tmp_path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "astronaut.png", np.ascontiguousarray(skimage.data.astronaut()[:64, 200:264]))
    cfg = BenchConfig(sets=[str(photos)], groups=["B"], policies=["fixed"], out=str(tmp_path / "out"), crop=48,
                      no_reference=(), full_reference=("psnr",))
    results = tmp_path / "out" / "results.jsonl"
    with Pool(workers=1) as pool:
        run_bench(cfg, pool=pool, progress=False)
        rows = _complete_rows(results)
        text = results.read_text()
        results.write_text(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # the last line cut in half
        assert len(_complete_rows(results)) == len(rows) - 1
        summary = run_bench(cfg, pool=pool, progress=False)
    again = _complete_rows(results)
    assert sorted(r["key"] for r in again) == sorted(r["key"] for r in rows)
    assert summary and summary[0]["n"] == len(rows)
