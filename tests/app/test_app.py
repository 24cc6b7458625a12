"""The web app's functions without a browser: uploads read as the CLI reads them (with clear
messages for bad ones), restoration with progress and cancel, the benchmark tab, downloads, and
the page's handlers (never a stack trace)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from irpilot.app.session import (
    Cancelled,
    RunControl,
    Runner,
    RunOptions,
    Upload,
    UploadError,
    benchmark_combinations,
    center_crop,
    parse_combination,
    read_upload,
    shrink,
    write_downloads,
)
from irpilot.cli import main
from irpilot.config import settings
from irpilot.io import write_image
from irpilot.pool import Pool


def _photo(h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 0.8, (3, h, w)).astype(np.float32)


@pytest.fixture(scope="module")
def runner() -> Runner:
    with Pool(backend="local", workers=1) as pool:
        yield Runner(pool=pool, perceiver=None)


# -- uploads ------------------------------------------------------------------------------
def test_a_non_image_says_so_with_its_name_not_the_temporary_path(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "notes.txt"
    path.parent.mkdir()
    path.write_text("hello")
    with pytest.raises(UploadError) as err:
        read_upload(path)
    assert str(err.value) == "notes.txt: not a recognised image file"


def test_a_truncated_file_says_so(tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.png", _photo(64, 64))
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(UploadError, match=r"^cut.png: .*truncated"):
        read_upload(tmp_path / "cut.png")


def test_limits_on_bytes_and_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_image(tmp_path / "p.png", _photo(40, 50))
    with pytest.raises(UploadError, match="above the upload limit"):
        read_upload(path, max_bytes=100)
    monkeypatch.setattr(settings, "max_pixels", 1000)
    with pytest.raises(UploadError, match=r"p.png: 50x40 = 2,000 pixels exceeds the limit of 1,000"):
        read_upload(path)


def test_16_bit_cmyk_alpha_and_grey_are_converted_and_said(tmp_path: Path) -> None:
    import cv2

    deep = (np.random.default_rng(0).random((20, 30, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    up = read_upload(tmp_path / "deep.png")
    assert up.image.shape == (3, 20, 30) and up.image.dtype == np.float32
    assert any("16-bit" in n for n in up.notes)
    # full depth is kept on the way in (values between the 8-bit steps)
    assert not np.allclose(up.image * 255, np.round(up.image * 255), atol=1e-3)

    Image.new("CMYK", (30, 20), (0, 255, 0, 0)).save(tmp_path / "cmyk.jpg")
    up = read_upload(tmp_path / "cmyk.jpg")
    assert up.image.shape == (3, 20, 30) and any("CMYK" in n for n in up.notes)
    assert up.image[0].mean() > 0.8 and up.image[1].mean() < 0.2  # magenta ink: red and blue, no green

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent: white, as a viewer shows it
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    up = read_upload(tmp_path / "alpha.png")
    assert any("transparency" in n for n in up.notes) and up.image.min() > 0.99

    Image.fromarray(np.full((20, 30), 128, np.uint8), "L").save(tmp_path / "grey.png")
    up = read_upload(tmp_path / "grey.png")
    assert up.image.shape == (3, 20, 30) and any("greyscale" in n for n in up.notes)

    assert read_upload(write_image(tmp_path / "plain.png", _photo())).notes == []


def test_shrink_and_center_crop() -> None:
    img = _photo(100, 200)
    assert shrink(img, 50).shape == (3, 25, 50)
    assert shrink(img, 0) is img and shrink(img, 400) is img
    assert center_crop(img, 64).shape == (3, 64, 64)
    assert np.array_equal(center_crop(img, 64), img[:, 18:82, 68:132])
    assert center_crop(img, 0) is img


def test_benchmark_combinations_are_the_protocols() -> None:
    combos = benchmark_combinations()
    assert "A: rain + haze" in combos and "C: dark + defocus_blur + jpeg" in combos and "single: snow" in combos
    assert len(combos) == 8 + 4 + 4 + 9
    assert parse_combination("C: haze + motion_blur + low_resolution") == ["haze", "motion_blur", "low_resolution"]
    with pytest.raises(KeyError, match="noise"):
        parse_combination("A: noisy")


# -- runs ---------------------------------------------------------------------------------
def test_restore_reports_progress_and_keeps_every_step(runner: Runner) -> None:
    control = RunControl()
    ups = [Upload("a.png", _photo() * 0.5), Upload("b.png", _photo(seed=1) * 0.5)]
    results = runner.restore(ups, RunOptions(policy="fixed", tasks="low_light", max_side=0), control)
    assert [r.name for r in results] == ["a.png", "b.png"]
    for r in results:
        assert r.traj.output.mean() > r.image.mean()
        assert all(s.image is not None for s in r.traj.steps if s.action["name"] != "stop")
    assert control.steps_done == sum(r.traj.tool_calls for r in results) > 0
    assert control.photo_index == 2 and "photo 2/2 'b.png'" in control.describe()


def test_learned_with_named_tasks_runs_them_with_fixed_and_says_so(runner: Runner) -> None:
    (r,) = runner.restore([Upload("a.png", _photo() * 0.5)], RunOptions(policy="learned", tasks="low_light", max_side=24))
    assert r.traj.policy == "fixed" and [c["name"] for c in r.traj.chain]
    assert any("'fixed'" in n for n in r.notes)
    assert r.image.shape == (3, 20, 24) and any("shrunk from 48x40 to 24x20" in n for n in r.notes)


def test_cancel_stops_before_the_next_tool_call(runner: Runner) -> None:
    class CancelAfterFirstTool(RunControl):
        def listener(self, event: str, step: Any = None) -> None:
            super().listener(event, step)
            if event == "step":
                self.cancel()

    control = CancelAfterFirstTool()
    ups = [Upload("a.png", _photo() * 0.5), Upload("b.png", _photo(seed=2) * 0.5)]
    with pytest.raises(Cancelled):
        runner.restore(ups, RunOptions(policy="fixed", tasks="low_light,denoise", max_side=0), control)
    assert control.steps_done == 1 and control.photo_index == 1
    done = RunControl()
    done.cancel()
    with pytest.raises(Cancelled):
        runner.restore(ups, RunOptions(policy="fixed", tasks="low_light"), done)
    assert done.steps_done == 0


def test_oracle_needs_the_clean_photo(runner: Runner) -> None:
    with pytest.raises(UploadError, match="benchmark tab"):
        runner.restore([Upload("a.png", _photo())], RunOptions(policy="oracle"))


def test_downloads_are_the_png_the_trace_and_a_report(runner: Runner, tmp_path: Path) -> None:
    ups = [Upload("same.png", _photo() * 0.5), Upload("same.png", _photo(seed=3) * 0.5)]
    results = runner.restore(ups, RunOptions(policy="fixed", tasks="low_light", max_side=0))
    paths = write_downloads(results, tmp_path)
    assert [p.name for p in paths] == ["same.restored.png", "same.trace.json", "same_2.restored.png",
                                       "same_2.trace.json", "report.html"]
    assert all(p.parent == tmp_path and p.stat().st_size > 0 for p in paths)


# -- the page's handlers ------------------------------------------------------------------
@pytest.fixture()
def app(runner: Runner, tmp_path: Path) -> Any:
    pytest.importorskip("gradio", reason="the app needs the 'app' extra (Gradio)")
    from irpilot.app.ui import App

    (tmp_path / "work").mkdir()
    return App(runner, tmp_path / "work", max_upload_bytes=10**6)


def _last(gen: Any) -> tuple[Any, ...]:
    out = None
    for out in gen:  # noqa: B007 - the last item is the result
        pass
    return out


def test_handler_says_what_is_wrong_in_the_page(app: Any, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    status, story, *_ = _last(app.restore([str(tmp_path / "notes.txt")], "fixed", "", "float32", 0))
    assert "notes.txt: not a recognised image file" in status and 'class="msg error"' in status
    assert "Traceback" not in status and story == ""
    status, *_ = _last(app.restore(None, "fixed", "", "float32", 0))
    assert "Drop one or more photos" in status
    write_image(tmp_path / "ok.png", _photo() * 0.5)
    status, *_ = _last(app.restore([str(tmp_path / "ok.png")], "fixed", "no_such_task", "float32", 0))
    assert 'class="msg error"' in status and "Traceback" not in status


def test_handler_restores_and_offers_downloads_and_comparisons(app: Any, tmp_path: Path) -> None:
    write_image(tmp_path / "ok.png", _photo() * 0.5)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    updates = list(app.restore([str(tmp_path / "ok.png"), str(tmp_path / "bad.png")], "fixed", "low_light", "float32", 0))
    assert any("Restoring 1 photo(s)" in u[0] for u in updates)
    status, story, pick, slider, files, pairs = updates[-1]
    assert "Done: 1 photo(s)" in status and "bad.png" in status  # the good one ran, the bad one is said
    assert 'class="card kept"' in story and "low_light" in story
    assert sorted(Path(f).name for f in files) == ["ok.restored.png", "ok.trace.json", "report.html"]
    assert all(Path(f).is_relative_to(tmp_path / "work") for f in files)
    assert "ok.png: input -> result" in pairs and any("step 1" in k for k in pairs)
    before, after = slider
    assert before.shape == after.shape and before.dtype == np.uint8
    assert app.pick("ok.png: input -> result", pairs) is pairs["ok.png: input -> result"]
    assert "nothing is running" in app.cancel(None)


def test_benchmark_handler_scores_every_step_against_the_clean_photo(tmp_path: Path) -> None:
    pytest.importorskip("gradio", reason="the app needs the 'app' extra (Gradio)")
    from irpilot.app.ui import App

    (tmp_path / "work").mkdir()
    with Pool(backend="local", workers=1) as pool:  # with the shipped perception model
        app = App(Runner(pool=pool), tmp_path / "work", max_upload_bytes=10**6)
        _check_benchmark(app, tmp_path)


def _check_benchmark(app: Any, tmp_path: Path) -> None:
    write_image(tmp_path / "clean.png", _photo(48, 64))
    status, story, *_ = _last(app.benchmark(str(tmp_path / "clean.png"), "single: dark", 0, "fixed", 32, "float32"))
    assert "Done" in status
    assert story.count("psnr") >= 2 and "clean (dark)" in story
    status, *_ = _last(app.benchmark(str(tmp_path / "clean.png"), "single: darkness", 0, "fixed", 32, "float32"))
    assert 'class="msg error"' in status and "dark" in status


def test_app_command_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["app", "--help"])
    out = capsys.readouterr().out
    assert "--host" in out and "127.0.0.1" in out and "--max-upload-mb" in out
