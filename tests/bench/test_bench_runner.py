"""``irpilot bench`` end to end on one small photo: labelled policy variants, per-image rows,
the summary, and resuming without redoing finished runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from irpilot.bench.runner import BenchConfig, run_bench
from irpilot.io import write_image
from irpilot.pool import Pool


@pytest.fixture(scope="module")
def pool():
    with Pool(workers=1) as p:
        yield p


@pytest.mark.slow  # a minute or more: two policies over a small benchmark set, twice
def test_bench_labels_variants_and_resumes(tmp_path, pool):
    import skimage.data

    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "astronaut.png", np.ascontiguousarray(skimage.data.astronaut()[:96, 200:296]))
    cfg = BenchConfig(sets=[str(photos)], groups=["B"], policies=["fixed", "mine=random:threshold=0.6"], out=str(tmp_path / "out"),
                      crop=64, no_reference=())
    summary = run_bench(cfg, pool=pool, progress=False)
    rows = [json.loads(l) for l in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted({r["policy"] for r in rows}) == ["fixed", "mine"]
    assert len(rows) == 2 * 4 and all(r["ok"] for r in rows)  # group B: 4 pairs per photo
    assert all(np.isfinite(r["psnr"]) and r["input"]["psnr"] > 0 for r in rows)
    assert {s["policy"] for s in summary} >= {"fixed", "mine"}
    # a second run finds every (policy, image) done and adds nothing
    run_bench(cfg, pool=pool, progress=False)
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == len(rows)


def test_bench_records_and_warns_of_tools_that_cannot_run(tmp_path, monkeypatch, caplog):
    """``config.json`` names the tools that cannot run here (their weights are missing), with a
    warning, and a resumed folder whose toolbox changed since its rows were made is warned of."""
    import logging

    from irpilot.bench.runner import record_toolbox
    from irpilot.tools import TOOLS

    out = tmp_path / "out"
    out.mkdir()
    cfg = BenchConfig(out=str(out))
    cls = TOOLS.get("srmd_x4")
    monkeypatch.setattr(cls, "unavailable_reason", classmethod(lambda c: "its files are not fetched"))
    own = TOOLS.get("low_light_net")  # weights the user trains: recorded, not warned of
    assert own.weights_provided is False
    monkeypatch.setattr(own, "unavailable_reason", classmethod(lambda c: "not trained"))
    with caplog.at_level(logging.WARNING, logger="irpilot.bench.runner"):
        missing = record_toolbox(out, cfg)
    assert missing["srmd_x4"] == "its files are not fetched" and missing["low_light_net"] == "not trained"
    recorded = json.loads((out / "config.json").read_text())["unavailable_tools"]
    assert recorded["srmd_x4"] == "its files are not fetched" and recorded["low_light_net"] == "not trained"
    warned = [r.getMessage() for r in caplog.records if "cannot run here" in r.getMessage()]
    assert len(warned) == 1 and "srmd_x4" in warned[0] and "low_light_net" not in warned[0]
    (out / "results.jsonl").write_text(json.dumps({"key": "k", "policy": "fixed"}) + "\n")
    monkeypatch.setattr(cls, "unavailable_reason", classmethod(lambda c: None))  # fetched since
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="irpilot.bench.runner"):
        now = record_toolbox(out, cfg)
    assert "srmd_x4" not in now
    assert any("another toolbox" in r.getMessage() for r in caplog.records)
