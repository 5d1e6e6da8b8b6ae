"""Uploaded CVs and forms: magic bytes decide, size enforced while reading, names cleaned."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
import zlib
from collections.abc import AsyncIterator

import pytest

from services.core.settings import Settings
from services.core.storage.uploads import (
    FileType,
    UploadRejected,
    clean_filename,
    content_disposition,
    read_limited,
    sniff,
    validate_upload,
)

MAX = Settings(environment="test").upload_max_bytes


def small_pdf() -> bytes:
    """A complete one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def small_png() -> bytes:
    """A 2 × 2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00\x00\xff\x00" for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def small_jpeg() -> bytes:
    """An 8 × 8 grey baseline JPEG: one block, DC difference 0, then end of block."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    quantisation = b"\x00" + b"\x01" * 64
    frame = struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00"
    one_symbol = b"\x01" + b"\x00" * 15 + b"\x00"  # one code of length 1 for symbol 0
    dc_table = b"\x00" + one_symbol
    ac_table = b"\x10" + one_symbol
    scan = b"\x01\x01\x00\x00\x3f\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, jfif)
        + segment(0xDB, quantisation)
        + segment(0xC0, frame)
        + segment(0xC4, dc_table)
        + segment(0xC4, ac_table)
        + segment(0xDA, scan)
        + b"\x3f"  # DC code 0, EOB code 0, padded with ones
        + b"\xff\xd9"
    )


class _Reader:
    """Like Starlette's UploadFile; records how much was asked for."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.read_total = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self.read_total + size
        chunk = self._data[self.read_total : end]
        self.read_total += len(chunk)
        return chunk


async def _rejected(content: bytes, name: str | None) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        await validate_upload(_Reader(content), filename=name, max_bytes=MAX)
    return caught.value


@pytest.mark.parametrize(
    ("content", "name", "file_type", "stored_name"),
    [
        (small_pdf(), "CV Élodie.pdf", FileType.PDF, "CV Élodie.pdf"),
        (small_png(), "formulaire.PNG", FileType.PNG, "formulaire.png"),
        (small_jpeg(), "scan.jpeg", FileType.JPEG, "scan.jpeg"),
        (small_jpeg(), "photo", FileType.JPEG, "photo.jpg"),
        (small_jpeg(), "scan.pdf", FileType.JPEG, "scan.jpg"),  # the bytes decide
        (small_pdf(), None, FileType.PDF, "document.pdf"),
    ],
)
async def test_accepted_files(
    content: bytes, name: str | None, file_type: FileType, stored_name: str
) -> None:
    upload = await validate_upload(_Reader(content), filename=name, max_bytes=MAX)
    assert upload.file_type is file_type
    assert await upload.read() == content and upload.size == len(content)
    upload.close()
    assert upload.filename == stored_name
    assert upload.media_type == {"pdf": "application/pdf", "png": "image/png"}.get(
        file_type.value, "image/jpeg"
    )


async def test_eleven_megabytes_refused_without_reading_it_all() -> None:
    assert MAX == 10 * 1024 * 1024
    content = small_pdf() + b"\x00" * (11 * 1024 * 1024)
    reader = _Reader(content)
    with pytest.raises(UploadRejected) as caught:
        await validate_upload(reader, filename="cv.pdf", max_bytes=MAX)
    assert caught.value.code == "file-too-large"
    assert caught.value.status == 413
    assert str(caught.value) == "fichier trop volumineux (10 Mo au plus)"
    assert reader.read_total == MAX + 1

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 1 << 20):
            yield content[start : start + (1 << 20)]

    with pytest.raises(UploadRejected, match="trop volumineux"):
        await read_limited(stream(), MAX)
    with pytest.raises(UploadRejected, match="trop volumineux"):
        await read_limited(content, MAX)
    # Exactly the limit passes.
    assert len(await read_limited(_Reader(b"x" * MAX), MAX)) == MAX


async def test_an_accepted_file_waits_on_disk_past_one_mebibyte_and_is_read_back_in_chunks() -> (
    None
):
    """Nine mebibytes go through in 64 KiB reads to a temporary file, not to one bytes object."""
    content = b"%PDF-1.7\n" + os.urandom(9 * 1024 * 1024) + b"\n%%EOF\n"
    reader = _Reader(content)
    upload = await validate_upload(reader, filename="scan.pdf", max_bytes=MAX)
    try:
        assert reader.read_total == len(content)
        assert upload.size == len(content)
        assert upload.sha256 == hashlib.sha256(content).hexdigest()
        assert upload.spool._rolled  # type: ignore[attr-defined]  # spilled to a file on disk
        chunks = []
        while chunk := await upload.read(64 * 1024):
            chunks.append(chunk)
        assert max(map(len, chunks)) == 64 * 1024 and b"".join(chunks) == content
    finally:
        upload.close()
    # A file arriving as a stream of chunks is checked the same way (type, end of the PDF).
    truncated = [content[: 1 << 20], content[1 << 20 : 5 << 20]]

    async def stream() -> AsyncIterator[bytes]:
        for part in truncated:
            yield part

    with pytest.raises(UploadRejected, match="incomplet"):
        await validate_upload(stream(), filename="scan.pdf", max_bytes=MAX)


async def test_executable_renamed_pdf_refused() -> None:
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"
    error = await _rejected(exe, "cv.pdf")
    assert (error.code, error.status) == ("unsupported-file-type", 415)
    assert error.message == "type de fichier non accepté : PDF, JPEG ou PNG"


async def test_archives_refused_whatever_their_name() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # A small bomb: 20 MB of zeros compress to a few kilobytes; nothing is ever inflated.
        archive.writestr("word/document.xml", b"\x00" * (20 * 1024 * 1024))
    docx = buffer.getvalue()
    assert len(docx) < 100_000
    for name in ["cv.pdf", "cv.docx", "cv.png"]:
        assert (await _rejected(docx, name)).code == "unsupported-file-type"
    gzip_bomb = b"\x1f\x8b\x08\x00" + b"\x00" * 100
    assert (await _rejected(gzip_bomb, "cv.pdf")).code == "unsupported-file-type"


@pytest.mark.parametrize(
    "content",
    [
        b"<html><script>alert(1)</script></html>",
        b"GIF89a\x01\x00\x01\x00",
        b"\x89PNG\r\n\x1a\n",  # a signature without its header chunk
        b" %PDF-1.4\n%%EOF",  # not at the start
        b"\xff\xd8",  # two bytes only
    ],
)
async def test_other_types_refused(content: bytes) -> None:
    assert sniff(content) is None
    assert (await _rejected(content, "cv.pdf")).code == "unsupported-file-type"


async def test_truncated_pdf_refused() -> None:
    pdf = small_pdf()
    error = await _rejected(pdf[: len(pdf) // 2], "cv.pdf")
    assert (error.code, error.status) == ("damaged-file", 422)
    # Padding after %%EOF, as some producers write, is accepted.
    padded = await validate_upload(pdf + b"\n" * 500, filename="a.pdf", max_bytes=MAX)
    assert padded.size == len(pdf) + 500
    padded.close()


async def test_empty_file_refused() -> None:
    error = await _rejected(b"", "cv.pdf")
    assert (error.code, error.status, error.message) == ("empty-file", 422, "fichier vide")


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "../cv.pdf",
        "C:\\x\\y.pdf",
        "C:y.pdf",
        "/etc/passwd",
        "dossier/cv.pdf",
        "\\\\serveur\\partage\\cv.pdf",
        "..",
        "cv\uff0fautre.pdf",  # a full-width solidus
    ],
)
async def test_path_like_names_refused_before_reading(name: str) -> None:
    reader = _Reader(small_pdf())
    with pytest.raises(UploadRejected) as caught:
        await validate_upload(reader, filename=name, max_bytes=MAX)
    assert (caught.value.code, caught.value.status) == ("invalid-file-name", 422)
    assert caught.value.message == "nom de fichier invalide"
    assert reader.read_total == 0


@pytest.mark.parametrize(
    ("name", "file_type", "cleaned"),
    [
        ("CV\u202egpj.exe", FileType.PDF, "CVgpj.pdf"),  # right-to-left override removed
        ("cv\x00\x1b[31m.pdf", FileType.PDF, "cv[31m.pdf"),
        ("  .bashrc  ", FileType.PNG, "bashrc.png"),
        ("...", FileType.PDF, "document.pdf"),
        ('CV: "Dupont" <final>?.pdf', FileType.PDF, "CV_ _Dupont_ _final__.pdf"),
        ("Cafe\u0301  cv\t2024.pdf", FileType.PDF, "Café cv 2024.pdf"),  # NFC, spaces
        ("a" * 300 + ".pdf", FileType.PDF, "a" * 116 + ".pdf"),
        ("cv.tar.gz", FileType.PDF, "cv.tar.pdf"),
        ("scan.JPG", FileType.JPEG, "scan.jpg"),
    ],
)
def test_names_cleaned(name: str, file_type: FileType, cleaned: str) -> None:
    result = clean_filename(name, file_type)
    assert result == cleaned
    assert len(result) <= 120


def test_content_disposition() -> None:
    header = content_disposition("CV Élodie.pdf")
    assert header == (
        "attachment; filename=\"CV Elodie.pdf\"; filename*=UTF-8''CV%20%C3%89lodie.pdf"
    )
    # Whatever the stored name, the quoted fallback cannot be closed early.
    assert content_disposition('a";b\\c.pdf').startswith('attachment; filename="a__b_c.pdf";')
