"""decode_image / load_image on real encoded bytes made here with Pillow and OpenCV."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from portraitmatch.capture.image import decode_image, load_image
from portraitmatch.errors import InputError, MediaTooLargeError, UnreadableMediaError

LIMITS = {"max_bytes": 8 * 1024 * 1024, "max_pixels": 4_000_000}


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _halves(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: orientation mistakes are visible in the result."""
    a = np.zeros((height, width, 3), np.uint8)
    a[:, : width // 2] = (220, 30, 30)
    a[:, width // 2 :] = (30, 30, 220)
    return Image.fromarray(a)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims the given size, with one tiny IDAT: a decompression-bomb header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_each_supported_format_decodes_to_rgb_uint8(fmt: str) -> None:
    frame = decode_image(_encode(_halves(), fmt), **LIMITS)
    assert frame.pixels.shape == (20, 40, 3)
    assert frame.pixels.dtype == np.uint8
    left, right = frame.pixels[10, 5].astype(int), frame.pixels[10, 35].astype(int)
    assert left[0] > 150 > left[2], f"{fmt}: left half should be red, got {left}"
    assert right[2] > 150 > right[0], f"{fmt}: right half should be blue, got {right}"
    assert frame.t_ms == 0.0 and frame.index == 0 and not frame.mirrored


def test_webp_with_a_jpg_name_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "portrait.jpg"
    path.write_bytes(_encode(_halves(), "WEBP", lossless=True))
    frame = load_image(path, **LIMITS)
    assert frame.pixels.shape == (20, 40, 3)
    assert tuple(frame.pixels[0, 0]) == (220, 30, 30)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    data = _encode(Image.fromarray(grey), "PNG")
    frame = decode_image(data, **LIMITS)
    assert frame.pixels.shape == (1, 4, 3)
    assert frame.pixels[0, :, 0].tolist() == [0, 4, 128, 255]
    assert (frame.pixels[..., 0] == frame.pixels[..., 2]).all()


def test_sixteen_bit_colour_png_keeps_colour() -> None:
    bgr16 = np.zeros((3, 3, 3), np.uint16)
    bgr16[..., 2] = 65535  # red
    bgr16[..., 0] = 100 * 257  # some blue
    ok, enc = cv2.imencode(".png", bgr16)
    assert ok
    frame = decode_image(enc.tobytes(), **LIMITS)
    assert tuple(frame.pixels[1, 1]) == (255, 0, 100)


def test_grey_palette_and_bilevel_images_become_three_channels() -> None:
    grey = Image.fromarray(np.full((8, 8), 77, np.uint8), "L")
    assert tuple(decode_image(_encode(grey, "PNG"), **LIMITS).pixels[0, 0]) == (77, 77, 77)
    palette = _halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    assert tuple(decode_image(_encode(palette, "PNG"), **LIMITS).pixels[10, 5]) == (220, 30, 30)
    bilevel = Image.new("1", (8, 8), 1)
    assert tuple(decode_image(_encode(bilevel, "BMP"), **LIMITS).pixels[0, 0]) == (255, 255, 255)


def test_transparent_pixels_become_white() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:, :2] = (10, 200, 10, 255)  # opaque green
    rgba[:, 2:] = (10, 200, 10, 0)  # fully transparent
    frame = decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"), **LIMITS)
    assert tuple(frame.pixels[0, 0]) == (10, 200, 10)
    assert tuple(frame.pixels[0, 3]) == (255, 255, 255)


def test_cmyk_jpeg_is_converted_to_rgb() -> None:
    cmyk = _halves().convert("CMYK")
    frame = decode_image(_encode(cmyk, "JPEG", quality=95), **LIMITS)
    left, right = frame.pixels[10, 5].astype(int), frame.pixels[10, 35].astype(int)
    assert np.abs(left - (220, 30, 30)).max() < 20
    assert np.abs(right - (30, 30, 220)).max() < 20


def test_exif_orientation_is_applied_like_opencv_does() -> None:
    img = _halves(40, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    data = _encode(img, "JPEG", quality=95, exif=exif)
    frame = decode_image(data, **LIMITS)
    assert frame.pixels.shape == (40, 20, 3)  # upright: taller than wide
    reference = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert reference.shape == frame.pixels.shape
    assert np.abs(reference.astype(int) - frame.pixels).mean() < 3
    assert frame.pixels[5, 10, 0] > 150  # the stored left (red) half is now on top


def test_gif_gives_its_first_frame() -> None:
    first, second = Image.new("RGB", (6, 6), (250, 0, 0)), Image.new("RGB", (6, 6), (0, 0, 250))
    data = _encode(first, "GIF", save_all=True, append_images=[second], duration=100)
    frame = decode_image(data, **LIMITS)
    red, _, blue = frame.pixels[0, 0].astype(int)
    assert red > 200 and blue < 50


def test_truncated_jpeg_is_unreadable_not_a_traceback() -> None:
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8))
    data = _encode(noisy, "JPEG", quality=90)
    with pytest.raises(UnreadableMediaError, match="JPEG"):
        decode_image(data[: len(data) // 2], **LIMITS)


def test_truncated_png_is_unreadable() -> None:
    data = _encode(_halves(200, 200), "PNG")
    with pytest.raises(UnreadableMediaError):
        decode_image(data[:60], **LIMITS)


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"name,id\nAlice,1\n", "text file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
    ],
)
def test_non_images_are_refused_with_what_they_look_like(data: bytes, looks_like: str) -> None:
    with pytest.raises(UnreadableMediaError, match=looks_like):
        decode_image(data, **LIMITS)


def test_empty_input_is_unreadable() -> None:
    with pytest.raises(UnreadableMediaError, match="empty"):
        decode_image(b"", **LIMITS)


def test_bomb_header_is_refused_before_decoding() -> None:
    # 100 000 x 100 000 pixels claimed by a 70-byte file: Pillow's own guard fires inside open().
    with pytest.raises(MediaTooLargeError):
        decode_image(_png_header_only(100_000, 100_000), **LIMITS)
    # Under Pillow's guard but over ours: refused from the header; the IDAT could not fill it anyway.
    with pytest.raises(MediaTooLargeError, match="pixels"):
        decode_image(_png_header_only(5_000, 2_000), max_bytes=1024, max_pixels=4_000_000)


def test_pixel_limit_applies_to_a_real_image() -> None:
    data = _encode(_halves(40, 20), "PNG")
    assert decode_image(data, max_bytes=1 << 20, max_pixels=800).pixels.shape == (20, 40, 3)
    with pytest.raises(MediaTooLargeError, match="800"):
        decode_image(data, max_bytes=1 << 20, max_pixels=799)


def test_byte_limit_is_checked_first(tmp_path: Path) -> None:
    data = _encode(_halves(), "PNG")
    with pytest.raises(MediaTooLargeError, match="bytes"):
        decode_image(data, max_bytes=len(data) - 1, max_pixels=10**6)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(MediaTooLargeError, match="bytes"):
        load_image(path, max_bytes=len(data) - 1, max_pixels=10**6)


def test_missing_file_and_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMediaError, match="no such file"):
        load_image(tmp_path / "absent.jpg", **LIMITS)
    with pytest.raises(InputError):
        load_image(tmp_path, **LIMITS)


def test_frame_pixels_are_read_only() -> None:
    frame = decode_image(_encode(_halves(), "PNG"), **LIMITS)
    with pytest.raises(ValueError):
        frame.pixels[0, 0, 0] = 1
