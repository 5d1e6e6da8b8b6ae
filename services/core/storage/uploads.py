"""Checking an uploaded CV or scanned form before anything is stored.

The type is decided by the first bytes of the file (PDF, JPEG or PNG), never by the name or the
declared content type. The size limit is enforced while reading: at most ``max_bytes + 1`` bytes
are ever read from a reader that takes a size. The file name is only a label shown back to
people: it is cleaned, and a name that looks like a path is refused. Nothing is decompressed or
parsed beyond the few bytes checked here. See docs/decisions/0012-file-storage.md.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Literal
from urllib.parse import quote

from services.core.storage.base import Content
from services.core.storage.local import iter_content

MAX_NAME_LENGTH = 120
DEFAULT_NAME = "document"
_CHUNK = 64 * 1024
# A PDF ends with "%%EOF" followed at most by a few line ends; producers sometimes pad the end.
_PDF_EOF_WINDOW = 1024

_PATH_SEPARATORS = frozenset("/\\\uff0f\uff3c\u2215\u29f5")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Characters Windows refuses in names, and the double quote of Content-Disposition.
_RESERVED = re.compile(r'[<>:"|?*]')
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")


class FileType(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        """The extension given to stored names, with its dot."""
        return _EXTENSIONS[self][0]


_MEDIA_TYPES = {
    FileType.PDF: "application/pdf",
    FileType.JPEG: "image/jpeg",
    FileType.PNG: "image/png",
}
_EXTENSIONS = {
    FileType.PDF: (".pdf",),
    FileType.JPEG: (".jpg", ".jpeg"),
    FileType.PNG: (".png",),
}


class UploadRejected(Exception):
    """A file refused, with a stable ``code``, a French ``message`` and the HTTP status to use."""

    code: str
    status: Literal[413, 415, 422]

    def __init__(self, code: str, message: str, status: Literal[413, 415, 422]) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(message)


def empty_file() -> UploadRejected:
    return UploadRejected("empty-file", "fichier vide", 422)


def file_too_large(max_bytes: int) -> UploadRejected:
    limit = max_bytes / (1024 * 1024)
    shown = f"{limit:.0f}" if limit >= 1 and limit == int(limit) else f"{limit:.1f}".rstrip("0")
    return UploadRejected(
        "file-too-large", f"fichier trop volumineux ({shown.replace('.', ',')} Mo au plus)", 413
    )


def unsupported_type() -> UploadRejected:
    return UploadRejected(
        "unsupported-file-type", "type de fichier non accepté : PDF, JPEG ou PNG", 415
    )


def damaged_pdf() -> UploadRejected:
    return UploadRejected("damaged-file", "fichier PDF incomplet ou endommagé", 422)


def invalid_name() -> UploadRejected:
    return UploadRejected("invalid-file-name", "nom de fichier invalide", 422)


# An accepted file is kept in memory up to this size, in a temporary file beyond.
SPOOL_IN_MEMORY = 1024 * 1024
# Enough of the start of a file for :func:`sniff` (the PNG signature and its IHDR chunk).
_HEAD = 16


@dataclass(slots=True)
class ValidatedUpload:
    """A checked file, read back in chunks (``await read(size)``, as storage ``put`` takes it)
    from a spool: never held whole in memory past ``SPOOL_IN_MEMORY``. Close it when done."""

    spool: IO[bytes]
    file_type: FileType
    filename: str  # cleaned, with the extension of ``file_type``
    size: int
    sha256: str

    @property
    def media_type(self) -> str:
        return self.file_type.media_type

    async def read(self, size: int = -1) -> bytes:
        return self.spool.read(size)

    def rewind(self) -> None:
        self.spool.seek(0)

    def close(self) -> None:
        self.spool.close()


def sniff(data: bytes) -> FileType | None:
    """The accepted type the first bytes announce, or ``None``."""
    if data.startswith(b"%PDF-"):
        return FileType.PDF
    if data.startswith(b"\xff\xd8\xff"):
        return FileType.JPEG
    # The signature, then the IHDR chunk that must come first (length 13).
    if data.startswith(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"):
        return FileType.PNG
    return None


def check_content(data: bytes) -> FileType:
    """The type of a whole file, or :class:`UploadRejected`."""
    if not data:
        raise empty_file()
    file_type = sniff(data)
    if file_type is None:
        raise unsupported_type()
    if file_type is FileType.PDF and b"%%EOF" not in data[-_PDF_EOF_WINDOW:]:
        raise damaged_pdf()
    return file_type


def is_path_like(name: str) -> bool:
    """A name carrying directories or a drive (``../../etc/passwd``, ``C:\\x\\y.pdf``)."""
    stripped = name.strip()
    return (
        any(c in _PATH_SEPARATORS for c in stripped)
        or _DRIVE.match(stripped) is not None
        or stripped in {".", ".."}
    )


def check_name(name: str | None) -> None:
    """Refuse, before reading any content, a name that looks like a path."""
    if name is not None and is_path_like(unicodedata.normalize("NFC", name)):
        raise invalid_name()


def clean_filename(name: str | None, file_type: FileType) -> str:
    """A name safe to show and to put in a Content-Disposition header.

    NFC, no control or format characters (bidirectional overrides included), no characters
    Windows refuses, spaces collapsed, no leading dots, at most 120 characters, ending with an
    extension of ``file_type`` (the wrong one replaced: a JPEG named ``scan.pdf`` becomes
    ``scan.jpg``). Path-like names raise :class:`UploadRejected` (``invalid-file-name``).
    """
    check_name(name)
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(
        " " if c.isspace() else c
        for c in text
        if c.isspace() or unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    text = _SPACES.sub(" ", _RESERVED.sub("_", text)).strip().lstrip(". ")
    match = _EXTENSION.search(text)
    stem = text[: match.start()] if match else text
    if match and "." + match.group(1).lower() in _EXTENSIONS[file_type]:
        extension = "." + match.group(1).lower()
    else:
        extension = file_type.extension
    stem = stem.rstrip(". ") or DEFAULT_NAME
    stem = stem[: MAX_NAME_LENGTH - len(extension)].rstrip(". ") or DEFAULT_NAME
    return stem + extension


async def read_limited(content: Content, max_bytes: int) -> bytes:
    """All of ``content``, or :class:`UploadRejected` once more than ``max_bytes`` arrive.

    A reader with ``read(size)`` (Starlette's ``UploadFile``) is never asked for more than
    ``max_bytes + 1`` bytes in total; an async iterable is abandoned at the chunk that crosses
    the limit.
    """
    if isinstance(content, bytes | bytearray | memoryview):
        if len(content) > max_bytes:
            raise file_too_large(max_bytes)
        return bytes(content)
    parts: list[bytes] = []
    total = 0
    if isinstance(content, AsyncIterable):
        async for chunk in content:
            total += len(chunk)
            if total > max_bytes:
                raise file_too_large(max_bytes)
            parts.append(bytes(chunk))
        return b"".join(parts)
    while True:
        chunk = await content.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > max_bytes:
            raise file_too_large(max_bytes)
        parts.append(chunk)


async def _limited_chunks(content: Content, max_bytes: int) -> AsyncIterator[bytes]:
    """The chunks of ``content``; :class:`UploadRejected` once more than ``max_bytes`` came
    (a reader is never asked for more than ``max_bytes + 1`` bytes in total)."""
    total = 0
    if isinstance(content, bytes | bytearray | memoryview | AsyncIterable):
        chunks = iter_content(content)
        async for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise file_too_large(max_bytes)
            yield chunk
        return
    while chunk := await content.read(min(_CHUNK, max_bytes + 1 - total)):
        total += len(chunk)
        if total > max_bytes:
            raise file_too_large(max_bytes)
        yield chunk


async def validate_upload(
    content: Content, *, filename: str | None, max_bytes: int
) -> ValidatedUpload:
    """Read and check one uploaded file: name, size, emptiness, type (magic bytes), PDF end.

    The file goes through in chunks to a spool (memory up to 1 MiB, a private temporary file
    beyond): only its first bytes and its last kilobyte are kept aside for the checks.
    ``max_bytes`` is ``settings.upload_max_bytes``. Raises :class:`UploadRejected`.
    """
    check_name(filename)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        digest = hashlib.sha256()
        head = b""
        tail = b""
        size = 0
        async for chunk in _limited_chunks(content, max_bytes):
            digest.update(chunk)
            size += len(chunk)
            if len(head) < _HEAD:
                head += chunk[: _HEAD - len(head)]
            tail = (tail + chunk)[-_PDF_EOF_WINDOW:]
            spool.write(chunk)
        file_type = _check_ends(head, tail, size)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return ValidatedUpload(
        spool=spool,
        file_type=file_type,
        filename=clean_filename(filename, file_type),
        size=size,
        sha256=digest.hexdigest(),
    )


def _check_ends(head: bytes, tail: bytes, size: int) -> FileType:
    """:func:`check_content` from the first bytes and the last kilobyte of a file."""
    if size == 0:
        raise empty_file()
    file_type = sniff(head)
    if file_type is None:
        raise unsupported_type()
    if file_type is FileType.PDF and b"%%EOF" not in tail:
        raise damaged_pdf()
    return file_type


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", fallback) or DEFAULT_NAME
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
