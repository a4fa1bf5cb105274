"""Request bodies read into memory under a byte limit, never spooled to disk.

Starlette's form parser writes file parts above 1 MB to a temporary file; an ID portrait must not
touch the disk, so multipart bodies are parsed here, in memory, with limits on the total size,
the number of parts and the size of each text field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from portraitmatch.adapters.web.problems import PayloadTooLarge, UnsupportedMediaType
from portraitmatch.errors import InputError

MAX_FIELD_BYTES = 4096
MAX_PARTS = 32


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    file_types: dict[str, str] = field(default_factory=dict)


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The whole body, refused with 413 as soon as it exceeds ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body is {int(declared)} bytes; the limit is {max_bytes}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The body exceeds the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


class _Collector:
    def __init__(self) -> None:
        self.form = Form()
        self.parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self._buffer: list[bytes] = []
        self._field_bytes = 0
        self._is_file = False

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MultipartParseError("too many parts")
        self._headers = {}
        self._buffer = []
        self._field_bytes = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._name.strip().lower()] = self._value.strip()
        self._name = b""
        self._value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._is_file = b"filename" in options

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._field_bytes += end - start
        if not self._is_file and self._field_bytes > MAX_FIELD_BYTES:
            raise MultipartParseError("field too long")
        self._buffer.append(data[start:end])

    def on_part_end(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            return
        content = b"".join(self._buffer)
        if self._is_file:
            self.form.files[name] = content
            self.form.file_types[name] = self._headers.get(b"content-type", b"").decode("latin-1")
        else:
            try:
                self.form.fields[name] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise MultipartParseError(f"field {name} is not UTF-8") from None


async def read_multipart(request: Request, *, max_bytes: int) -> Form:
    """Parse a ``multipart/form-data`` body in memory."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType("Send the form as multipart/form-data (curl -F).")
    boundary = params.get(b"boundary")
    if not boundary:
        raise InputError("The multipart body has no boundary.", code="MALFORMED_MULTIPART")
    body = await read_body(request, max_bytes=max_bytes)
    collector = _Collector()
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError) as exc:
        raise InputError(f"The multipart body is malformed: {exc}.", code="MALFORMED_MULTIPART") from None
    return collector.form
