"""read_image / write_image: every supported kind of file in, clear errors for bad files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from irpilot.errors import ImageReadError, ImageWriteError
from irpilot.io import (
    as_image,
    encode_image,
    from_uint8,
    image_hash,
    list_images,
    read_image,
    to_uint8,
    write_image,
)

RGB = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)


def _png(path: Path, arr: np.ndarray, **kw) -> Path:
    Image.fromarray(arr).save(path, **kw)
    return path


# -- bad files -------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageReadError, match="is a directory"):
        read_image(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(tmp_path / "e.png")


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_truncated_file(tmp_path, ext):
    full = _png(tmp_path / f"full.{ext}", RGB).read_bytes()
    (tmp_path / f"t.{ext}").write_bytes(full[: len(full) // 2])
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_image(tmp_path / f"t.{ext}")
    (tmp_path / f"h.{ext}").write_bytes(full[:20])  # only the header survives
    with pytest.raises(ImageReadError):
        read_image(tmp_path / f"h.{ext}")


def test_non_image_file(tmp_path):
    (tmp_path / "x.png").write_text("this is text, not pixels")
    with pytest.raises(ImageReadError, match="not a recognised image"):
        read_image(tmp_path / "x.png")


def test_over_large_by_limit(tmp_path):
    p = _png(tmp_path / "a.png", RGB)
    with pytest.raises(ImageReadError, match="exceeds the limit of 100"):
        read_image(p, max_pixels=100)
    assert read_image(p, max_pixels=600).shape == (3, 20, 30)


def test_over_large_declared_size_is_refused_before_decoding(tmp_path):
    """A tiny PNG whose header claims 100000 x 100000 pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(data)
    with pytest.raises(ImageReadError, match="too large|exceeds the limit"):
        read_image(tmp_path / "bomb.png")


# -- kinds of good files -----------------------------------------------------------------------
def test_rgb_png_roundtrip_exact(tmp_path):
    img = read_image(_png(tmp_path / "a.png", RGB))
    assert img.dtype == np.float32 and img.shape == (3, 20, 30)
    assert np.array_equal(to_uint8(img), RGB)
    write_image(tmp_path / "b.png", img)
    assert np.array_equal(read_image(tmp_path / "b.png"), img)


def test_16bit_png_keeps_all_bits(tmp_path):
    import cv2

    a16 = (np.random.default_rng(1).random((20, 30, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), a16[:, :, ::-1])
    img = read_image(tmp_path / "d.png")
    assert np.abs(img - a16.transpose(2, 0, 1) / 65535.0).max() < 1e-6
    g16 = np.linspace(0, 65535, 600).reshape(20, 30).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g.png"), g16)
    g = read_image(tmp_path / "g.png")
    assert g.shape == (3, 20, 30) and np.abs(g[2] - g16 / 65535.0).max() < 1e-6
    write_image(tmp_path / "o.png", img, bit_depth=16)
    assert np.abs(read_image(tmp_path / "o.png") - img).max() < 1e-6


def test_grey_becomes_three_equal_channels(tmp_path):
    img = read_image(_png(tmp_path / "g.png", RGB[:, :, 0]))
    assert img.shape == (3, 20, 30)
    assert np.array_equal(img[0], img[1]) and np.array_equal(img[1], img[2])
    assert np.array_equal(np.round(img[0] * 255).astype(np.uint8), RGB[:, :, 0])


def test_rgba_composites_on_white_only_when_transparent(tmp_path):
    rgba = np.dstack([RGB, np.full((20, 30), 255, np.uint8)])
    opaque = read_image(_png(tmp_path / "o.png", rgba))
    assert np.array_equal(to_uint8(opaque), RGB)
    rgba[0, 0, 3] = 0
    rgba[1, 1, 3] = 128
    img = read_image(_png(tmp_path / "t.png", rgba))
    assert np.allclose(img[:, 0, 0], 1.0)
    a = 128 / 255.0
    assert np.allclose(img[:, 1, 1], RGB[1, 1] / 255.0 * a + (1 - a), atol=1e-6)


def test_palette_image(tmp_path):
    p = tmp_path / "p.png"
    Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(p)
    img = read_image(p)
    ref = np.asarray(Image.open(p).convert("RGB"))
    assert img.shape == (3, 20, 30) and np.array_equal(to_uint8(img), ref)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    im = Image.fromarray(RGB)
    exif = im.getexif()
    exif[0x0112] = orientation
    p = tmp_path / "r.png"
    im.save(p, exif=exif)
    ref = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    img = read_image(p)
    assert np.array_equal(to_uint8(img), ref)
    assert img.shape[1:] == ((30, 20) if orientation >= 5 else (20, 30))


def test_jpeg_bmp_tiff_webp(tmp_path):
    for ext in ("jpg", "bmp", "tif", "webp"):
        p = _png(tmp_path / f"a.{ext}", RGB)
        img = read_image(p)
        assert img.shape == (3, 20, 30)
        assert np.array_equal(to_uint8(img), np.asarray(Image.open(p).convert("RGB")))
        if ext in ("bmp", "tif"):  # lossless
            assert np.array_equal(to_uint8(img), RGB)


# -- conversions, writing, listing -----------------------------------------------------------
def test_conversions_and_hash():
    img = from_uint8(RGB)
    assert img.shape == (3, 20, 30) and img.dtype == np.float32
    assert np.array_equal(to_uint8(img), RGB)
    assert np.array_equal(as_image(RGB), img)
    assert as_image(img[0]).shape == (3, 20, 30)
    with pytest.raises(ValueError, match="channels"):
        as_image(np.zeros((2, 4, 4)))
    assert image_hash(img) == image_hash(img.copy()) != image_hash(img[:, ::-1])


def test_write_errors_and_atomicity(tmp_path):
    img = from_uint8(RGB)
    with pytest.raises(ImageWriteError, match="unsupported extension"):
        write_image(tmp_path / "a.xyz", img)
    write_image(tmp_path / "a.png", img)
    with pytest.raises(ImageWriteError, match="overwrite"):
        write_image(tmp_path / "a.png", img, overwrite=False)
    with pytest.raises(ImageWriteError, match="16-bit"):
        encode_image(img, ".jpg", bit_depth=16)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary files left


def test_list_images(tmp_path):
    for name in ("b.png", "a.JPG", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png"]
    assert list_images(tmp_path / "b.png") == [tmp_path / "b.png"]
    with pytest.raises(ImageReadError, match="no such file or folder"):
        list_images(tmp_path / "missing")


def test_atomic_torch_save_replaces_whole_files_and_keeps_the_old_one_on_failure(tmp_path: Path) -> None:
    import torch

    from irpilot.io import atomic_torch_save

    path = tmp_path / "ckpt" / "last.pt"
    atomic_torch_save({"w": torch.ones(3)}, path)
    atomic_torch_save({"w": torch.full((3,), 2.0)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.full((3,), 2.0))

    class Unpicklable:
        def __reduce__(self) -> tuple:
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        atomic_torch_save({"w": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.full((3,), 2.0))
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temporary file left
