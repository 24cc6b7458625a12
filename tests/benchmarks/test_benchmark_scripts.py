"""The benchmark scripts' own arithmetic: the paired policy comparison behind BENCHMARKS.md's
per-image counts, the fit of the low-light tool's darkening check, and the real-photo report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import compare_policies  # noqa: E402
import line_or_general  # noqa: E402
import lowlight_check  # noqa: E402
import real_photos  # noqa: E402
import sure_dark  # noqa: E402


def _row(policy: str, image: str, psnr: float, group: str = "A", ok: bool = True) -> dict:
    return {"policy": policy, "set": "kodak24", "group": group, "image": image, "degradations": ["noise", "jpeg"],
            "ok": ok, "psnr": psnr, "chain": [f"{policy}_tool"]}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_compare_pairs_images_counts_ties_and_lets_the_last_folder_win(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.jsonl", [
        _row("fixed", "1.png", 20.0), _row("learned", "1.png", 21.0),
        _row("fixed", "2.png", 20.0), _row("learned", "2.png", 19.0),
        _row("fixed", "3.png", 20.0), _row("learned", "3.png", 20.03),
        _row("fixed", "4.png", 20.0),  # no partner: not compared
        _row("learned", "5.png", 30.0), _row("fixed", "5.png", 0.0, ok=False),  # failed run: left out
        _row("fixed", "6.png", 18.0, group="B"), _row("learned", "6.png", 18.5, group="B"),
    ])
    second = _write(tmp_path / "b.jsonl", [_row("learned", "2.png", 22.0)])  # re-run of one image
    res = compare_policies.compare(compare_policies.load_rows([str(first), str(second)]), "fixed", "learned")
    assert sorted(res) == ["A", "B"]
    a = res["A"]
    assert (a["n"], a["b_better"], a["b_worse"], a["level"]) == (3, 2, 0, 1)
    assert a["mean_diff"] == pytest.approx((1.0 + 2.0 + 0.03) / 3)
    assert a["images"][0]["diff"] == pytest.approx(2.0)  # largest difference first
    assert res["B"]["mean_diff"] == pytest.approx(0.5)


def test_compare_main_fails_clearly_without_common_images(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path / "r.jsonl", [_row("fixed", "1.png", 20.0)])
    assert compare_policies.main([str(path), "--a", "fixed", "--b", "learned"]) == 1
    assert "policies present: fixed" in capsys.readouterr().err


def _synthetic_check_data(seed: int, clean_gain: float) -> dict:
    """Darkened combinations: low mean value, brightening gains 5 dB; the others: bright, it
    loses 4 dB.  ``clean`` carries only the PSNR cap as its gain."""
    rng = np.random.default_rng(seed)
    data = {}
    for combo in lowlight_check.COMBOS:
        dark = "dark" in combo
        feats = np.column_stack([
            rng.normal(0.2 if dark else 0.5, 0.05, 12),  # mean value
            rng.normal(0.6 if dark else 0.95, 0.05, 12),  # 99.9th percentile
            rng.normal(-5.0, 0.5, 12),  # log black share
            rng.normal(0.18 if dark else 0.5, 0.05, 12),  # median
            rng.normal(0.35 if dark else 0.5, 0.05, 12),  # mean / p99.9
        ])
        gain = np.full(12, clean_gain) if combo == "clean" else np.full(12, 5.0 if dark else -4.0)
        data[combo] = {"features": feats, "plain": gain, "shipped": np.full(12, np.nan)}
    return data


def test_darkening_check_fit_keeps_the_gains_and_ignores_clean_crops() -> None:
    pytest.importorskip("scipy")
    data = [_synthetic_check_data(0, -40.0), _synthetic_check_data(1, -40.0)]
    rule = lowlight_check.fit(data)
    assert rule.shape == (6,)
    dark, other = lowlight_check.class_means(data, rule)
    assert lowlight_check.class_means(data, None) == pytest.approx((5.0, -4.0))
    assert dark == pytest.approx(5.0) and other == pytest.approx(0.0)
    # clean crops' capped gain is not part of the objective: the same rule whatever the cap
    other_cap = [_synthetic_check_data(0, 0.0), _synthetic_check_data(1, 0.0)]
    np.testing.assert_allclose(lowlight_check.fit(other_cap), rule)


def test_compare_one_policy_with_itself_across_two_runs(tmp_path: Path, capsys) -> None:
    old = _write(tmp_path / "old.jsonl", [_row("learned", "1.png", 20.0), _row("learned", "2.png", 20.0)])
    new = _write(tmp_path / "new.jsonl", [_row("learned", "1.png", 21.0), _row("fixed", "2.png", 25.0)])
    assert compare_policies.main([str(old), "--a", "learned", "--b", "learned", "--b-from", str(new), "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert "| A | 1 | 1 | 0 | 0 | +1.00 |" in out  # only image 1 has learned in both runs


def test_sure_dark_table_counts_forced_cases_and_averages_over_all_cases() -> None:
    data = {"seed": 0, "cases": [
        {"id": "a", "degradations": ["dark"], "psnr_plain": 20.0, "p_dark": 0.97, "psnr_forced": 26.0},
        {"id": "b", "degradations": ["rain"], "psnr_plain": 25.0, "p_dark": 0.59, "psnr_forced": 15.0},
        {"id": "c", "degradations": ["noise"], "psnr_plain": 30.0},  # the check did not decline
        {"id": "d", "degradations": ["dark", "jpeg"], "psnr_plain": 18.0, "p_dark": 0.3, "psnr_forced": 24.0},
    ]}
    rows = {r["threshold"]: r for r in sure_dark.table(data)}
    assert (rows[0.5]["forced"], rows[0.5]["darkened"], rows[0.5]["losses"]) == (2, 1, 1)
    assert rows[0.5]["mean_change_db"] == pytest.approx((6.0 - 10.0) / 4)
    assert (rows[0.6]["forced"], rows[0.6]["mean_change_db"]) == (1, pytest.approx(6.0 / 4))
    assert rows[0.98]["forced"] == 0 and rows[0.98]["mean_change_db"] == 0.0



def test_perception_bench_draws_realistic_twins_of_the_protocol_combinations() -> None:
    import perception_bench

    from irpilot.degrade import GROUP_C, kind_of

    default = perception_bench.combos(0, 8)
    assert [g for g, _ in default][:16] == ["A"] * 8 + ["B"] * 4 + ["C"] * 4  # the original order
    both = perception_bench.combos(0, 8, ("C", "realistic_c", "clean"))
    real = [c for g, c in both if g == "realistic_c"]
    assert [tuple(kind_of(n) for n in c) for c in real] == list(GROUP_C)
    assert all(n.startswith("real_") for c in real for n in c) and ("clean", ()) in both
    assert perception_bench.family("realistic_a") == "realistic" and perception_bench.family("D3+") == "protocol"
    with pytest.raises(SystemExit, match="unknown groups"):
        perception_bench.combos(0, 8, ("realistic_z",))


def test_input_gain_counts_images_worse_than_their_input(tmp_path: Path) -> None:
    import input_gain

    def row(policy: str, image: str, psnr: float, inp: float, group: str = "realistic_a") -> dict:
        return dict(_row(policy, image, psnr, group), key=f"{policy}|{group}|{image}", input={"psnr": inp},
                    kinds=["noise", "jpeg"])

    path = _write(tmp_path / "r.jsonl", [
        row("fixed", "1.png", 22.0, 20.0), row("fixed", "2.png", 19.0, 20.0),
        row("fixed", "3.png", 25.0, 24.0, group="realistic_b"),
        dict(row("fixed", "4.png", 0.0, 20.0), ok=False),  # failed: left out
    ])
    summary = input_gain.gains(input_gain.load_rows([str(path)]))
    a = next(s for s in summary if s["group"] == "realistic_a")
    assert a["n"] == 2 and a["gain"] == pytest.approx(0.5) and a["worse"] == pytest.approx(0.5)
    assert a["input"] == pytest.approx(20.0) and a["output"] == pytest.approx(20.5)
    md = input_gain.markdown(summary, False)
    assert "| fixed | mean of the groups | 3 | 22.00 | 22.75 | +0.75 | 33 % (of all) |" in md
    combos = input_gain.gains(input_gain.load_rows([str(path)]), by_combination=True)
    assert {c["chain"] for c in combos} == {"noise+jpeg"}


def _tiny_photo(path: Path, value: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (value, value // 2, 10)).save(path)


def test_real_photos_finds_the_degraded_photos_and_writes_a_sheet_and_a_page(tmp_path: Path) -> None:
    """The real-photo report: which files count as real degraded photos, the labelled sheet,
    and the page's tables (rows as :func:`real_photos.run` writes them; no agent runs)."""
    import irpilot

    data = tmp_path / "data"
    _tiny_photo(data / "real_lowlight_X" / "easy" / "a b.png", 40)
    _tiny_photo(data / "real_hazy_Y" / "c.jpg", 200)
    _tiny_photo(data / "AgenticIR_samples" / "test_tool_input" / "dehazing.png", 180)
    _tiny_photo(data / "AgenticIR_samples" / "dataset_HQ" / "example.png", 90)  # clean: not a degraded photo
    _tiny_photo(data / "Kodak24" / "kodim01.png", 90)  # a test set, not a real degraded one
    photos = real_photos.find_photos(data)
    assert [p.key for p in photos] == ["AgenticIR_samples/test_tool_input/dehazing.png", "real_hazy_Y/c.jpg",
                                       "real_lowlight_X/easy/a b.png"]
    assert photos[2].slug == "real_lowlight_X-easy-a_b"

    out = tmp_path / "run"
    (out / "images").mkdir(parents=True)
    rows = {}
    for photo in photos:
        for policy, chain in (("fixed", []), ("learned", ["hsv_value_inverse", "dncnn_color_blind"])):
            irpilot.write_image(out / "images" / f"{photo.slug}.{policy}.png", irpilot.read_image(photo.path))
            rows[(photo.key, policy)] = {
                "photo": photo.key, "set": photo.set, "policy": policy, "shape": [3, 30, 40], "chain": chain,
                "calls": len(chain), "seconds": 1.5, "before": {"niqe": 5.0, "brisque": 40.0},
                "after": {"niqe": 4.0 if chain else 5.0, "brisque": 30.0 if chain else 40.0}}
    with (out / "results.jsonl").open("w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows.values())
    assert real_photos.load_rows(out / "results.jsonl") == rows

    sheet = real_photos.write_sheet(photos[2], rows, ["fixed", "learned"], out, tmp_path / "sheets")
    from PIL import Image

    with Image.open(sheet) as im:
        assert im.format == "JPEG" and im.height > real_photos.PANEL_SIDE * 30 // 40  # panels plus labels
        assert im.width >= 3 * real_photos.PANEL_SIDE

    page = tmp_path / "docs" / "real.md"
    page.parent.mkdir()
    real_photos.write_page(page, photos, rows, ["fixed", "learned"], {photos[2].key: sheet}, "python x.py")
    text = page.read_text()
    assert "| real_lowlight_X/easy/a b.png | 40x30 | learned | `hsv_value_inverse` + `dncnn_color_blind` | 5.00 → 4.00 | 40.0 → 30.0 | 1.5 |" in text
    assert "| real_hazy_Y | fixed | 1 | 0.00 | 1 | 5.00 → 5.00 | 40.0 → 40.0 | 1.5 |" in text
    assert "](../sheets/real_lowlight_X-easy-a_b.jpg)" in text
    assert real_photos._wrap("fixed: a + b + c", 9) == ["fixed: a", "+ b + c"]


def test_line_or_general_table_splits_the_cases_by_the_motion_tools_rule(tmp_path: Path) -> None:
    def case(cond: str, line: float, general: float, axis: float, gain_line: float, gain_pnp: float) -> dict:
        return {"photo": "p", "condition": cond, "line_ratio": line, "general_ratio": general, "axis_mass": axis,
                "line_passes": line < 0.6, "gain_line": gain_line, "gain_hqs": 0.0, "gain_pnp": gain_pnp}

    rows = _write(tmp_path / "cases.jsonl", [
        case("shake", 0.5, 0.2, 0.6, -3.0, 4.0),  # ratio 0.4, not a line: declined
        case("shake", 0.5, 0.2, 0.9, -1.0, 1.0),  # a line-like general kernel: kept
        case("shake", 0.5, 0.4, 0.5, -2.0, 2.0),  # ratio 0.8: kept
        case("shake", 0.9, 0.1, 0.1, 0.0, 3.0),  # the line does not pass its own check: not counted
        case("protocol", 0.1, 0.3, 1.0, 12.0, -1.0),
    ])
    table = line_or_general.table([str(rows)])
    shake = next(line for line in table.splitlines() if line.startswith("| shake |"))
    assert shake.split(" | ")[1:3] == ["4", "3"]  # cases, line passes
    assert "1: -3.00 / +4.00 dB" in shake and "2: -1.50 / +1.50 dB" in shake
    protocol = next(line for line in table.splitlines() if line.startswith("| protocol |"))
    assert "| - |" in protocol and "1: +12.00 / -1.00 dB" in protocol


def test_line_or_general_residual_table_scores_the_motion_step_three_ways(tmp_path: Path) -> None:
    """The motion step as the agent runs it (the line where it is kept, the fallback elsewhere),
    with the residual rule (the fallback also where the line leaves a bent blur) and with the
    two outputs averaged where the line is kept; rows without the new fields are left out."""
    def case(passes: bool, residual: float | None, line: float, pnp: float, average: float) -> dict:
        return {"photo": "p", "condition": "shake", "line_ratio": 0.5 if passes else 0.9, "general_ratio": 0.5,
                "axis_mass": 0.9, "line_passes": passes, "declined": not passes, "gain_line": line,
                "gain_hqs": 0.0, "gain_pnp": pnp, "gain_average": average, "residual_axis_mass": residual}

    rows = _write(tmp_path / "cases.jsonl", [
        case(True, 0.5, -4.0, 2.0, -1.0),  # kept, bent residual: the rule hands it to the fallback
        case(True, 0.9, 3.0, 1.0, 2.0),  # kept, straight residual: the line stays
        case(False, None, 0.0, 1.0, 1.0),  # declined: the fallback in every column
        {"photo": "q", "condition": "shake", "line_ratio": 0.5, "general_ratio": 0.5, "axis_mass": 0.9,
         "line_passes": True, "gain_line": 9.0, "gain_hqs": 9.0, "gain_pnp": 9.0},  # an older row
    ])
    table = line_or_general.residual_table([json.loads(x) for x in rows.read_text().splitlines()], 0.7)
    shake = next(line for line in table.splitlines() if line.startswith("| shake |"))
    cells = shake.strip("| ").split(" | ")
    assert cells[1:3] == ["3", "2"]  # cases with the new fields, line kept
    assert cells[3] == "1: -4.00 / +2.00 dB"
    assert cells[4:] == ["+0.00 (1)", "+2.00 (0)", "+0.67 (1)"]


def test_real_photos_names_output_files_by_the_policy_label_not_its_path(tmp_path: Path) -> None:
    """A policy given as ``label=learned:weights=runs/x/policy.pt`` writes one file named by its
    label inside ``images/``, not a folder tree made of the weights path."""
    photo = real_photos.Photo("real_hazy_AODNet", "test9.jpg", tmp_path / "test9.jpg")
    images = tmp_path / "images"
    assert real_photos._image_path(tmp_path, photo, "ft=learned:weights=runs/rl/policy.pt") == images / "real_hazy_AODNet-test9.ft.png"
    assert real_photos._image_path(tmp_path, photo, "fixed") == images / "real_hazy_AODNet-test9.fixed.png"
    unlabelled = real_photos._image_path(tmp_path, photo, "learned:weights=a/b.pt")
    assert unlabelled.parent == images and "/" not in unlabelled.name
