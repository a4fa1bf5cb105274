"""Still images (ID portraits, single photos) → `Frame`: checked, oriented, RGB uint8.

The format is taken from the bytes, not the file name. Size is refused from the header, before any
pixel is decoded, so a small file that claims to be 100 000 × 100 000 pixels (a decompression
bomb) costs nothing. EXIF orientation is applied, so a phone photo stored sideways comes out
upright. Every colour layout Pillow reads (grey, 16-bit, palette, alpha, CMYK, …) ends as 8-bit RGB;
transparent areas become white, like the background of an ID photo.

Every failure is an `InputError`: `MediaTooLargeError` for the limits, `UnreadableMediaError` for
anything that is not a complete image in a supported format.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from portraitmatch.capture._sniff import IMAGE_FORMATS, describe, sniff_image_format
from portraitmatch.errors import MediaTooLargeError, PortraitMatchError, UnreadableMediaError
from portraitmatch.types import Frame

SUPPORTED = "JPEG, PNG, WebP, BMP, TIFF or GIF"
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Frame:
    """Decode an encoded still image to a `Frame` (RGB uint8, t_ms 0, index 0).

    Raises `MediaTooLargeError` when `data` is longer than `max_bytes` or the image has more than
    `max_pixels` pixels (checked from the header, before decoding), and `UnreadableMediaError`
    when it is empty, not a supported format (the message says what it looks like), truncated
    or corrupt. Multi-frame files (GIF, TIFF, animated WebP) give their first frame.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"decode_image expects bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise UnreadableMediaError("the image is empty (0 bytes)")
    if len(data) > max_bytes:
        raise MediaTooLargeError(f"the image is {len(data):,} bytes, above the limit of {max_bytes:,}")
    fmt = sniff_image_format(data[:64])
    if fmt is None:
        raise UnreadableMediaError(
            f"not a supported image: the data looks like {describe(data[:512])}; send {SUPPORTED}"
        )
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                raise UnreadableMediaError(f"the {fmt} header gives an empty size {width}x{height}")
            if width * height > max_pixels:
                raise MediaTooLargeError(
                    f"the image is {width}x{height} = {width * height:,} pixels, "
                    f"above the limit of {max_pixels:,}"
                )
            img.load()
            rgb = _to_rgb8(_upright(img))
    except Image.DecompressionBombError as exc:
        # Pillow's own backstop (2 x Image.MAX_IMAGE_PIXELS) can fire inside open(), before our check.
        raise MediaTooLargeError(f"the image is too large to decode safely: {exc}") from exc
    except PortraitMatchError:
        raise
    except Exception as exc:
        # Pillow's plugins raise many types on malformed input (OSError for truncation,
        # SyntaxError, struct.error, ValueError, IndexError …): all mean "this is not a valid image".
        raise UnreadableMediaError(f"the {fmt} image could not be decoded: {exc}") from exc
    return Frame(pixels=rgb)


def load_image(path: str | os.PathLike[str], *, max_bytes: int, max_pixels: int) -> Frame:
    """Read and decode an image file; same checks and errors as `decode_image`.

    The file's size is checked before it is read, so an oversized file is never loaded.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise UnreadableMediaError(f"{p} is not a regular file")
        if size > max_bytes:
            raise MediaTooLargeError(f"{p.name} is {size:,} bytes, above the limit of {max_bytes:,}")
        with p.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise UnreadableMediaError(f"no such file: {p}") from exc
    except PermissionError as exc:
        raise UnreadableMediaError(f"cannot read {p}: permission denied") from exc
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)


def _upright(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        # A malformed EXIF block should not cost the whole image; it is used as stored.
        return img


def _to_rgb8(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        grey = _scale_to_uint8(np.asarray(img), mode)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8)
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        mode in ("P", "L", "RGB") and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
    # 1, L, P, CMYK, YCbCr, LAB, HSV: Pillow knows how to reach RGB. CMYK from Adobe JPEGs is
    # already un-inverted by the decoder.
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _scale_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """Grey images deeper than 8 bits → 0..255, scaled rather than clipped (Pillow clips)."""
    a = a.astype(np.float64)
    if mode in _SIXTEEN_BIT_MODES:
        top = 65535.0
    elif mode == "F":
        top = 1.0 if a.size and np.nanmax(a) <= 1.0 else 255.0
    else:  # "I": 32-bit int, usually a 16-bit PNG/TIFF read by an older decoder
        peak = float(a.max()) if a.size else 0.0
        top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
    scaled = np.nan_to_num(a, nan=0.0) * (255.0 / top)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


__all__ = ["IMAGE_FORMATS", "SUPPORTED", "decode_image", "load_image"]
