"""``read_image`` and ``write_image`` on hostile files: non-finite pixels, corrupt PNG headers,
Pillow's own size limit, GIF, and the permissions of written files."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from irpilot.errors import ImageReadError
from irpilot.io import IMAGE_EXTENSIONS, list_images, read_image, write_image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def test_nan_and_inf_pixels_are_refused(tmp_path: Path) -> None:
    for value in (np.nan, np.inf):
        arr = np.full((8, 8), 0.5, np.float32)
        arr[3, 4] = value
        path = tmp_path / f"float_{value}.tif"
        Image.fromarray(arr, mode="F").save(path)
        with pytest.raises(ImageReadError, match="NaN or infinite"):
            read_image(path)


def test_a_finite_float_tiff_is_still_read(tmp_path: Path) -> None:
    arr = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(arr, mode="F").save(tmp_path / "f.tif")
    img = read_image(tmp_path / "f.tif")
    assert img.shape == (3, 8, 8) and np.isfinite(img).all()


def test_a_png_header_promising_more_rows_than_its_bytes_hold_is_refused(tmp_path: Path) -> None:
    # a 64 x 64 image whose height got one bit flipped (64 + 2**20), CRC recomputed: Pillow
    # would pad the missing rows and hand back a 64 x 1,048,640 image
    rows = b"".join(b"\x00" + bytes(range(64)) * 3 for _ in range(64))
    path = tmp_path / "flipped.png"
    path.write_bytes(_png(64, 64 + 2**20, zlib.compress(rows)))
    with pytest.raises(ImageReadError, match="corrupt"):
        read_image(path)
    path.write_bytes(_png(64, 64, zlib.compress(rows)))  # the same file with the right header reads
    assert read_image(path).shape == (3, 64, 64)


def test_max_pixels_can_be_raised_past_pillows_own_limit(tmp_path: Path) -> None:
    # 10,000 x 9,000 = 90 MP is above Pillow's 89.5 MP bomb limit; the file holds no pixel data,
    # so reading gets past the size checks only to fail on the data
    path = tmp_path / "big.png"
    path.write_bytes(_png(10_000, 9_000, zlib.compress(b"")))
    with pytest.raises(ImageReadError, match="exceeds the limit of 50,000,000"):
        read_image(path, max_pixels=50_000_000)
    with pytest.raises(ImageReadError) as info:
        read_image(path, max_pixels=200_000_000)
    assert "limit" not in str(info.value) and "too large" not in str(info.value)


def test_gif_is_read_in_folders_as_when_named(tmp_path: Path) -> None:
    Image.fromarray(np.full((6, 5, 3), 200, np.uint8)).save(tmp_path / "a.gif")
    write_image(tmp_path / "b.png", np.zeros((3, 4, 4), np.float32))
    assert ".gif" in IMAGE_EXTENSIONS
    assert [p.name for p in list_images(tmp_path)] == ["a.gif", "b.png"]
    assert list_images(tmp_path / "a.gif") == [tmp_path / "a.gif"]
    assert read_image(tmp_path / "a.gif").shape == (3, 6, 5)


def test_a_named_file_of_another_type_is_refused_as_in_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert list_images(tmp_path) == []
    with pytest.raises(ImageReadError, match="not an image type"):
        list_images(tmp_path / "notes.txt")


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        p = write_image(tmp_path / "a.png", np.zeros((3, 4, 4), np.float32))
        assert p.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        q = write_image(tmp_path / "b.png", np.zeros((3, 4, 4), np.float32))
        assert q.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


#: found by tests/test_fuzz_read.py: the 16 x 12 16-bit grey sample with its width changed to
#: 1040 and the CRC made right; Pillow raises TypeError while it builds the decoder
FUZZ_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000004100000000c1000000001d9c2fd0a0000019749444154789c018c0173fe"
    "00c64e32654bb198755b12bc7997a434ff9c2f03991c9b29445a8a030cee0d3d500145481be190aa6a3d144ede0cad80"
    "647cb8fc930e0f02a8d8d7d332a708a28e6400dbc19ef331a4b01ac24c134c612553ab9207a72d2e6f783bfdfd040e5e"
    "f955950067d3de827034e21093566cb34096d2d7a4e93654214c201ce8b86744d1fee53502d21d2ad4bef6e3d1709c24"
    "b7f060f26cd6ce563b2ad054c523fb68f71752db77007ee0d80100faaa7bc472539fdb47000ca1d14d0fa0ed405835b3"
    "a04b7f362ff101e2dbff08abcc2813bfcb5a9d084cee297b9fc806a23ec1c57ba6f831ac85d8fc02d4aad4b522fa23e6"
    "203db7f0afdd20f41fa5d142d9bdac918e036e6dff7f7ad202776bc40fe775ee6a5d1808da679b739566c6ecfc0ce117"
    "a5f0ed00e97062cb9401e8b5631b22fe2470c9911a0d258f6ed24fc0aa117b79201e7c29262b90d80a4a0163426d2e76"
    "826ed0d7e0e50738625b62262822a263010693fa7a163c50dc07be0277b58be94b8ecc2315caa3091d051c2a85d81bbb"
    "d0ccf728b0b44748e2786ab2648bbcc9e1efa7ae0000000049454e44ae426082"
)


def test_a_corrupt_header_that_trips_pillow_is_a_read_error(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(FUZZ_PNG)
    with pytest.raises(ImageReadError, match="corrupt"):
        read_image(tmp_path / "bad.png")
