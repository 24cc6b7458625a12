"""Property-based fuzzing of image reading: truncations and byte flips of small valid files of
every format irpilot reads, through :func:`irpilot.read_image` and the command line's per-file
path.  Whatever the bytes, reading gives a finite float32 (3, H, W) image in [0, 1] or an
:class:`ImageReadError`; the command line gives exit status 0 or 1, one-line errors and no
traceback, and never changes the input.

The default run is bounded (about a minute); ``pytest -m fuzz tests/test_fuzz_read.py`` runs
the long version (skipped unless the marker is selected)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from irpilot.errors import ImageReadError  # noqa: E402
from irpilot.io import read_image  # noqa: E402

#: pixels a fuzzed file may decode to in these tests (a corrupt header must not be read as a
#: huge image; real images this size are refused as "exceeds the limit", which is allowed)
MAX_PIXELS = 4_000_000


def _sample_files() -> dict[str, bytes]:
    """Small valid files: each format irpilot reads, in a few pixel layouts."""
    from PIL import Image, features

    rng = np.random.default_rng(0)
    rgb = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    rgba = np.dstack([rgb, (rng.random((12, 16)) * 255).astype(np.uint8)])
    grey16 = (rng.random((12, 16)) * 65535).astype(np.uint16)
    files: dict[str, bytes] = {}

    def save(name: str, im: Image.Image, fmt: str, **kw: object) -> None:
        buf = io.BytesIO()
        im.save(buf, fmt, **kw)
        files[name] = buf.getvalue()

    save("rgb.png", Image.fromarray(rgb), "PNG")
    save("rgba.png", Image.fromarray(rgba), "PNG")
    save("grey16.png", Image.fromarray(grey16), "PNG")
    save("palette.png", Image.fromarray(rgb).convert("P"), "PNG")
    save("interlaced.png", Image.fromarray(rgb), "PNG", interlace=1)
    save("rgb.jpg", Image.fromarray(rgb), "JPEG", quality=90)
    save("progressive.jpg", Image.fromarray(rgb), "JPEG", quality=90, progressive=True)
    save("rgb.tif", Image.fromarray(rgb), "TIFF")
    save("deflate.tif", Image.fromarray(rgb), "TIFF", compression="tiff_adobe_deflate")
    save("float.tif", Image.fromarray(rng.random((12, 16)).astype(np.float32), mode="F"), "TIFF")
    save("rgb.bmp", Image.fromarray(rgb), "BMP")
    save("grey.bmp", Image.fromarray(rgb[:, :, 0]), "BMP")
    save("rgb.gif", Image.fromarray(rgb).convert("P"), "GIF")
    if features.check("webp"):
        save("lossy.webp", Image.fromarray(rgb), "WEBP", quality=80)
        save("lossless.webp", Image.fromarray(rgba), "WEBP", lossless=True)
    return files


SAMPLES = _sample_files()


def _fix_png_crcs(data: bytearray) -> None:
    """Recompute every chunk's CRC, so that a changed header reaches the decoder (as a buggy or
    hostile encoder would write it)."""
    import zlib

    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(data):
            return
        data[end : end + 4] = zlib.crc32(bytes(data[pos + 4 : end])).to_bytes(4, "big")
        pos = end + 4


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A sample file, cut short and/or with a few bytes changed (flipped bits or random values;
    for PNG, often in the header and with the CRCs made right again)."""
    name = draw(st.sampled_from(sorted(SAMPLES)))
    data = bytearray(SAMPLES[name])
    png = name.endswith(".png")
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(16, 28) if png and draw(st.booleans()) else st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        else:
            data[pos] = draw(st.integers(0, 255))
    if png and draw(st.booleans()):
        _fix_png_crcs(data)
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return name, bytes(data)


def _check_read(path: Path) -> None:
    try:
        img = read_image(path, max_pixels=MAX_PIXELS)
    except ImageReadError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[0] == 3
    assert img.shape[1] * img.shape[2] <= MAX_PIXELS
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0


def _fuzz_read(name_data: tuple[str, bytes]) -> None:
    name, data = name_data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        _check_read(path)
        assert path.read_bytes() == data


def _fuzz_cli(name_data: tuple[str, bytes], command: str) -> None:
    import contextlib

    from irpilot.cli import main

    name, data = name_data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        if command == "score":
            argv = ["--max-pixels", str(MAX_PIXELS), "score", str(path), "--metric", "sharpness"]
        else:
            argv = ["--max-pixels", str(MAX_PIXELS), "restore", str(path), "-o", str(Path(tmp) / "out"),
                    "--policy", "fixed", "--tasks", "low_light", "--workers", "1"]
        from irpilot.config import configure, settings

        before = settings.max_pixels
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
        finally:
            configure(max_pixels=before)  # --max-pixels sets it for the whole process
        assert code in (0, 1), err.getvalue()
        assert "Traceback" not in err.getvalue()
        assert all(line.startswith("irpilot") for line in err.getvalue().splitlines()), err.getvalue()
        assert path.read_bytes() == data
        if command == "restore" and code == 0:
            assert (Path(tmp) / "out" / f"{path.stem}.png").is_file()


def _long(request: pytest.FixtureRequest) -> None:
    if "fuzz" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long fuzzing: select it with -m fuzz")


QUICK = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def test_samples_are_valid() -> None:
    assert {Path(n).suffix for n in SAMPLES} >= {".png", ".jpg", ".tif", ".bmp", ".gif"}
    for name, data in SAMPLES.items():
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / name).write_bytes(data)
            assert read_image(Path(tmp) / name).shape == (3, 12, 16), name


@settings(max_examples=2500, **QUICK)
@given(mutated())
def test_fuzz_read_image(name_data: tuple[str, bytes]) -> None:
    _fuzz_read(name_data)


@settings(max_examples=150, **QUICK)
@given(mutated())
def test_fuzz_score_command(name_data: tuple[str, bytes]) -> None:
    _fuzz_cli(name_data, "score")


@settings(max_examples=25, **QUICK)
@given(mutated())
def test_fuzz_restore_command(name_data: tuple[str, bytes]) -> None:
    _fuzz_cli(name_data, "restore")


@pytest.mark.fuzz
@settings(max_examples=20_000, **QUICK)
@given(name_data=mutated())
def test_fuzz_read_image_long(request: pytest.FixtureRequest, name_data: tuple[str, bytes]) -> None:
    _long(request)
    _fuzz_read(name_data)


@pytest.mark.fuzz
@settings(max_examples=1_000, **QUICK)
@given(name_data=mutated())
def test_fuzz_commands_long(request: pytest.FixtureRequest, name_data: tuple[str, bytes]) -> None:
    _long(request)
    _fuzz_cli(name_data, "score")
    _fuzz_cli(name_data, "restore")
