"""The HTML story of a restoration (report and app): perception bars, every step with its
before/after and full-resolution detail, alternatives, per-step metrics against a reference,
timing, and a page that needs nothing but itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from irpilot.agent import Agent, AgentConfig, Step, Trajectory
from irpilot.cli import main
from irpilot.io import image_hash, read_image, write_image
from irpilot.pool import Pool
from irpilot.report import ReportItem, detail_box, page_html, reference_scores, story_html, write_report


def _clean(h: int = 40, w: int = 48) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 0.8, (3, h, w)).astype(np.float32)


@pytest.fixture(scope="module")
def run() -> tuple[np.ndarray, np.ndarray, Trajectory]:
    clean = _clean()
    dark = clean * 0.5
    with Pool(backend="local", workers=1) as pool:
        traj = Agent(pool=pool, perceiver=None, config=AgentConfig(keep_images=True)).run(dark, "fixed", tasks="low_light")
    return clean, dark, traj


def test_story_shows_every_step_with_its_comparison_detail_and_metrics(run) -> None:
    clean, dark, traj = run
    html = story_html(traj, dark, reference=clean, name="dark.png")
    tools = [s for s in traj.steps if s.action["name"] != "stop"]
    assert tools, "the fixed policy ran no tool"
    for s in tools:
        assert s.action["name"] in html
    assert html.count('class="cmp"') == len(tools) + 1  # each step, then input against result
    assert html.count('class="detail"') == len(tools) + 1
    assert "psnr" in html and "ssim" in html and "&rarr;" in html
    assert "dark.png" in html and "decision" in html and "tool " in html
    assert "no perception model" in html


def test_story_draws_perception_bars_and_the_policys_alternatives() -> None:
    img = _clean(24, 24)
    out = np.clip(img * 1.2, 0, 1)
    step = Step(index=0, action={"name": "gamma_auto", "arguments": {}}, task="low_light", input_hash=image_hash(img),
                output_hash=image_hash(out), accepted=True, seconds=0.5, choices={"gamma_auto": 0.7, "lime": 0.2},
                note="added: the dehaze step revealed dark")
    step.image = out
    stop = Step(index=1, action={"name": "stop", "arguments": {}}, task=None, input_hash=image_hash(out),
                choices={"stop": 0.9, "lime": 0.05}, accepted=True)
    traj = Trajectory(policy="learned", source="x.png", input_hash=image_hash(img), input_shape=img.shape,
                      steps=[step, stop], chain=[step.action], output=out,
                      perception={"probs": {"dark": 0.93, "noise": 0.1}, "severity": {"dark": 0.6, "noise": 0.2}})
    html = story_html(traj, img)
    assert 'style="width:93.0%"' in html and "severity 0.60 (severe)" in html
    assert "severity 0.20" not in html  # severity is said only for what is present
    assert 'class="bar pick"' in html  # the chosen action among the alternatives
    assert "lime" in html and "70%" in html and "90%" in html
    assert '<p class="meta">added: the dehaze step revealed dark</p>' in html  # why a kept step is there


def test_detail_box_finds_where_the_step_changed_most() -> None:
    before = np.zeros((3, 200, 300), np.float32)
    after = before.copy()
    after[:, 120:140, 200:230] = 1.0
    top, left, side = detail_box(before, after, side=64)
    assert side == 64
    assert top <= 120 and top + side >= 140 and left <= 200 and left + side >= 230
    # super-resolution: the input is 4x smaller
    small = np.zeros((3, 50, 75), np.float32)
    top, left, side = detail_box(small, after, side=64)
    assert top <= 120 and top + side >= 140 and left <= 200 and left + side >= 230
    # nothing changed: the most textured square, inside the image
    tex = np.zeros((3, 100, 100), np.float32)
    tex[:, 10:30, 60:90] = np.random.default_rng(0).random((3, 20, 30))
    top, left, side = detail_box(tex, tex, side=32)
    assert 0 <= top <= 68 and 0 <= left <= 68 and top < 30 and left + side > 60


def test_reference_scores_align_a_small_output_as_the_benchmark_does() -> None:
    clean = _clean(64, 64)
    assert reference_scores(clean, clean)["psnr"] > 60
    small = clean[:, ::4, ::4]
    assert 5 < reference_scores(small, clean)["psnr"] < 40  # upscaled x4, then compared


def test_page_is_self_contained(run, tmp_path: Path) -> None:
    clean, dark, traj = run
    path = write_report(tmp_path, [ReportItem("dark.png", dark, traj, clean)])
    text = path.read_text()
    assert text.startswith("<!doctype html>")
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert "http://" not in text and "https://" not in text and "<link" not in text
    assert page_html([]).count("<html") == 1


def test_restore_report_has_per_step_metrics_with_ref(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = _clean()
    (tmp_path / "in").mkdir()
    (tmp_path / "ref").mkdir()
    write_image(tmp_path / "in" / "a.png", clean * 0.5)
    write_image(tmp_path / "ref" / "a.png", clean)
    code = main(["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--report", "--ref", str(tmp_path / "ref"),
                 "--policy", "fixed", "--tasks", "low_light", "--workers", "1", "-q"])
    assert code == 0
    text = (tmp_path / "out" / "report.html").read_text()
    trace = json.loads((tmp_path / "out" / "a.trace.json").read_text())
    for s in trace["steps"]:
        if s["action"]["name"] != "stop":
            assert s["action"]["name"] in text
    assert "psnr" in text and text.count('class="detail"') >= 2
    assert read_image(tmp_path / "out" / "a.png").shape == clean.shape
