"""What a byte string looks like, from its first bytes: the real format, never the file name.

Uploads arrive with wrong extensions (a WebP saved as ``.jpg`` is common), and a clear "this is a
PDF" beats a decoder's stack trace. Only the magic numbers are read here; decoding is elsewhere.
"""

from __future__ import annotations

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")

# ISO-BMFF brands of still images (HEIC from iPhones, AVIF), which share the "ftyp" box with MP4.
_ISO_BMFF_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


def sniff_image_format(head: bytes) -> str | None:
    """Pillow format name of a supported still image, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def sniff_video_container(head: bytes) -> str | None:
    """Name of a video container we expect FFmpeg to read, or None when unsure."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] not in _ISO_BMFF_IMAGE_BRANDS:
        return "MP4/MOV"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska/WebM"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"YUV4MPEG2"):
        return "Y4M"
    if head.startswith(b"OggS"):
        return "Ogg"
    if head.startswith(b"FLV"):
        return "FLV"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "MPEG-PS"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    return None


def describe(head: bytes) -> str:
    """A short human description of what the bytes look like, for error messages."""
    if not head:
        return "an empty file"
    image = sniff_image_format(head)
    if image is not None:
        return f"a {image} image"
    video = sniff_video_container(head)
    if video is not None:
        return f"a {video} video"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _ISO_BMFF_IMAGE_BRANDS:
        return f"a HEIF/AVIF image ({head[8:12].decode('ascii', 'replace').strip()})"
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    if _looks_like_text(head):
        stripped = head.lstrip().lower()
        if stripped.startswith((b"<svg", b"<?xml")):
            return "an XML/SVG text file"
        if stripped.startswith((b"<!doctype html", b"<html")):
            return "an HTML page"
        if stripped.startswith((b"{", b"[")):
            return "JSON text"
        return "a text file"
    return "binary data of an unknown type"


_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"MZ", "a Windows executable"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
    (b"8BPS", "a Photoshop document"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"ID3", "an MP3 audio file"),
)


def _looks_like_text(head: bytes) -> bool:
    sample = head[:512]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(sample) - 3:
            return False
    return True
