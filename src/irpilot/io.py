"""Image files in and out: the one place where pixels change representation.

Inside irpilot an image is a ``numpy.ndarray`` of dtype float32, shape (3, H, W), RGB,
values in [0, 1] (batches add a leading axis).  This module converts from and to files,
PIL, and OpenCV-style uint8 arrays.  Writes are atomic: a temporary file in the target
directory is renamed over the destination, so a crash never leaves half an image.

>>> img = read_image("photo.jpg")          # doctest: +SKIP
>>> write_image("out/photo.png", img)      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import io as _io
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .config import settings
from .errors import ImageReadError, ImageWriteError
from .imaging.convert import as_image, from_uint8, to_chw, to_float_rgb, to_hwc, to_uint8

__all__ = [
    "atomic_torch_save",
    "IMAGE_EXTENSIONS",
    "WRITE_EXTENSIONS",
    "read_image",
    "write_image",
    "encode_image",
    "atomic_write_bytes",
    "list_images",
    "to_uint8",
    "from_uint8",
    "to_hwc",
    "to_chw",
    "as_image",
    "image_hash",
]

#: Extensions of the files irpilot reads: a folder is searched for these, and a file named
#: directly must have one of them too (GIF: the first frame).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
#: Extensions :func:`write_image` can encode.
WRITE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Pillow's own decompression-bomb limit, applied before irpilot's ``max_pixels`` could be
#: checked; :func:`read_image` lifts it to ``max_pixels`` when that is larger.
_PIL_DEFAULT_MAX_PIXELS = 89_478_485
#: Deflate expands at most 1032:1, so a PNG of N bytes holds at most about 1032 N bytes of
#: scanlines: a header promising more (one flipped bit in the height) is corrupt, and Pillow
#: would otherwise pad the missing rows.
_DEFLATE_MAX_RATIO = 1032
_EXIF_ORIENTATION = 0x0112


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W[, C]) array."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return np.swapaxes(arr, 0, 1)
    if orientation == 6:
        return np.rot90(arr, k=-1)
    if orientation == 7:
        return np.rot90(np.swapaxes(arr, 0, 1), k=2)
    if orientation == 8:
        return np.rot90(arr, k=1)
    return arr


def read_image(path: str | os.PathLike[str], *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as float32 RGB (3, H, W) in [0, 1].

    Handles PNG, JPEG, BMP, TIFF, WebP and GIF (first frame); 8- and 16-bit; grey,
    grey+alpha, RGB, RGBA, palette and CMYK; EXIF orientation.  Raises :class:`ImageReadError`
    with a clear message for missing, empty, truncated, corrupt, non-image or over-large files
    (``max_pixels``, default ``settings.max_pixels``, which replaces Pillow's own limit) and for
    NaN or infinite pixel values.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    limit = settings.max_pixels if max_pixels is None else max_pixels
    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{path}: is a directory, not an image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageReadError(f"{path}: file is empty")
    _check_png_size(path, data, limit)
    # Pillow refuses images above its own limit before ours could be checked: follow ours.
    Image.MAX_IMAGE_PIXELS = max(int(limit), _PIL_DEFAULT_MAX_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd metadata: not for users
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(_io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > limit:
                    raise ImageReadError(
                        f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of "
                        f"{limit:,} (raise it with IRPILOT_MAX_PIXELS or --max-pixels)"
                    )
                try:
                    orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1))
                except Exception:
                    orientation = 1
                mode = im.mode
                fmt = im.format
                tiff_bits = _tiff_bits(im) if fmt == "TIFF" else 0
                im.load()  # decodes everything: raises on truncation
                arr = _pil_to_array(im)
    except ImageReadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path}: not a recognised image file") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{path}: image is too large ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"{path}: cannot decode image, the file may be truncated or corrupt ({exc})") from exc
    except (MemoryError, RecursionError) as exc:
        raise ImageReadError(f"{path}: cannot decode image, the file may be corrupt ({type(exc).__name__})") from exc
    except Exception as exc:  # noqa: BLE001 - decoders raise TypeError, struct.error, ... on corrupt headers
        raise ImageReadError(
            f"{path}: cannot decode image, the file may be corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    if width == 0 or height == 0:
        raise ImageReadError(f"{path}: image has zero size")
    # Pillow reads 48/64-bit RGB(A) PNG and TIFF as 8-bit; OpenCV keeps all 16 bits.
    sixteen_bit = (fmt == "PNG" and len(data) > 24 and data[24] == 16) or (fmt == "TIFF" and tiff_bits > 8)
    if sixteen_bit and mode in ("RGB", "RGBA", "I;16", "I;16B", "I;16L", "I"):
        deep = _read_16bit_with_opencv(data)
        if deep is not None:
            arr = deep
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ImageReadError(f"{path}: the image holds NaN or infinite pixel values; irpilot needs finite values")
    return to_float_rgb(_orient(arr, orientation))


def _check_png_size(path: Path, data: bytes, limit: int) -> None:
    """Refuse a PNG whose header promises more pixels than ``limit`` or than its bytes can hold."""
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 33 and data[12:16] == b"IHDR"):
        return  # not a PNG: Pillow says what it is
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if width * height > limit:
        raise ImageReadError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{limit:,} (raise it with IRPILOT_MAX_PIXELS or --max-pixels)"
        )
    depth, colour = data[24], data[25]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 1)
    scanlines = height * (1 + (width * channels * max(depth, 1) + 7) // 8)
    if scanlines > _DEFLATE_MAX_RATIO * len(data) + 65536:
        raise ImageReadError(
            f"{path}: the PNG header says {width}x{height}, more than its {len(data):,} bytes can hold; "
            "the file is corrupt"
        )


def _tiff_bits(im: Any) -> int:
    """The largest BitsPerSample of a TIFF (0 when unknown)."""
    try:
        bits = im.tag_v2.get(258, 0)
        return int(max(bits) if isinstance(bits, (tuple, list)) else bits)
    except Exception:  # noqa: BLE001 - a corrupt tag: let the decoder speak
        return 0


def _pil_to_array(im: Any) -> np.ndarray:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im).astype(np.uint16)
    elif mode == "I":
        arr = np.asarray(im)
        return np.clip(arr, 0, 65535).astype(np.uint16 if arr.max(initial=0) > 255 else np.uint8)
    elif mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        if not np.isfinite(arr).all():
            return arr  # refused by read_image
        hi = float(arr.max(initial=1.0))
        return arr / (hi if hi > 1.0 else 1.0)
    return np.asarray(im)


def _read_16bit_with_opencv(data: bytes) -> np.ndarray | None:
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    quiet = cv2.utils.logging.LOG_LEVEL_SILENT
    level = cv2.utils.logging.setLogLevel(quiet)  # Pillow read it already: no second report on stderr
    try:
        arr = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        arr = None
    finally:
        cv2.utils.logging.setLogLevel(level)
    if arr is None or arr.dtype != np.uint16:
        return None
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[:, :, ::-1]
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(arr)


def image_hash(img: np.ndarray) -> str:
    """Content hash of an image's pixels (shape and dtype included), for caches and traces."""
    arr = np.ascontiguousarray(img)
    h = hashlib.sha256()
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:32]


def encode_image(img: np.ndarray, fmt: str = ".png", *, bit_depth: int = 8, quality: int = 95) -> bytes:
    """Encode an image to file bytes (format by extension)."""
    import cv2

    fmt = fmt.lower() if fmt.startswith(".") else "." + fmt.lower()
    arr = np.clip(as_image(img), 0.0, 1.0)
    if bit_depth == 16:
        if fmt not in (".png", ".tif", ".tiff"):
            raise ImageWriteError(f"16-bit output needs PNG or TIFF, not {fmt}")
        hwc = (arr.transpose(1, 2, 0) * 65535.0 + 0.5).astype(np.uint16)
    elif bit_depth == 8:
        hwc = to_uint8(arr)
    else:
        raise ImageWriteError(f"bit_depth must be 8 or 16, got {bit_depth}")
    params: list[int] = []
    if fmt in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif fmt == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, buf = cv2.imencode(fmt, np.ascontiguousarray(hwc[:, :, ::-1]), params)
    if not ok:
        raise ImageWriteError(f"OpenCV could not encode an image as {fmt}")
    return buf.tobytes()


_UMASK_LOCK = threading.Lock()


def _file_mode() -> int:
    """The mode a new file gets from ``open()``: 0o666 less the process umask (``mkstemp``
    would make every file 0o600)."""
    with _UMASK_LOCK:  # the umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes to ``path`` atomically (temporary file + rename in the same directory); the
    file's permissions follow the umask, as for any new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:  # name the file the caller asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_torch_save(obj: object, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (:func:`atomic_write_bytes`): a checkpoint
    is either the old one or the new one, never half written."""
    import io as _io

    import torch

    buf = _io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def write_image(
    path: str | os.PathLike[str],
    img: np.ndarray,
    *,
    bit_depth: int = 8,
    quality: int = 95,
    overwrite: bool = True,
) -> Path:
    """Write a float32 (3, H, W) image atomically; the format follows the extension."""
    path = Path(path)
    if path.suffix.lower() not in WRITE_EXTENSIONS:
        raise ImageWriteError(f"{path}: unsupported extension; use one of {', '.join(WRITE_EXTENSIONS)}")
    if not overwrite and path.exists():
        raise ImageWriteError(f"{path}: exists and overwrite=False")
    return atomic_write_bytes(path, encode_image(img, path.suffix, bit_depth=bit_depth, quality=quality))


def list_images(root: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """Image files in a folder (sorted by name, extensions :data:`IMAGE_EXTENSIONS`), or
    ``[root]`` when it is a file with one of those extensions (:class:`ImageReadError` for a
    file of another type, so that a file is read when named exactly when it would be found
    in a folder)."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ImageReadError(
                f"{root}: not an image type irpilot reads (extensions: {', '.join(IMAGE_EXTENSIONS)})"
            )
        return [root]
    if not root.is_dir():
        raise ImageReadError(f"{root}: no such file or folder")
    it = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
