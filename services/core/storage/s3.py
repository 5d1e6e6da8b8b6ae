"""Files in an S3-compatible bucket (AWS S3, MinIO, Ceph, Scaleway, OVH…), see decision 0060.

Keys are the same as on disk (``ab/cd/<uuid hex>``), optionally under a prefix. Nothing holds a
whole file in memory: an upload is sent as one ``PutObject`` when it fits in one part, otherwise
as a multipart upload whose parts are sent as they fill; a download is read from the response
body in chunks. S3 makes an object visible only once ``PutObject`` or
``CompleteMultipartUpload`` succeeds, so readers see the whole file or nothing; a failed
multipart upload is aborted, so nothing is left behind and a previous object under the key stays.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.core.storage.base import (
    Content,
    InvalidStorageKey,
    StorageConfigurationError,
    StoredFileNotFound,
    StoredObject,
    is_valid_key,
)
from services.core.storage.local import iter_content

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

    from services.core.settings import Settings

# S3's smallest part but the last; also the most one upload buffers in memory.
PART_SIZE = 5 * 1024 * 1024
_CHUNK = 64 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_DENIED = frozenset(
    {
        "403",
        "AccessDenied",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "InvalidToken",
        "ExpiredToken",
    }
)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    """A :class:`~services.core.storage.base.Storage` in one bucket of an S3-compatible store.

    The client is opened by :meth:`check` (start-up) or on first use, and closed by
    :meth:`aclose`. ``server_side_encryption`` (``AES256`` or ``aws:kms``) is asked for every
    object written; ``None`` leaves the bucket's default.
    """

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        server_side_encryption: str | None = None,
        prefix: str = "",
        part_size: int = PART_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        if part_size < PART_SIZE:
            raise ValueError("part_size: 5 MiB at least (S3's smallest part)")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self._sse: dict[str, Any] = (
            {"ServerSideEncryption": server_side_encryption} if server_side_encryption else {}
        )
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "config": Config(
                signature_version="s3v4",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                # A custom endpoint (MinIO, a local server) seldom has per-bucket host names.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        }
        self._exit: contextlib.AsyncExitStack | None = None
        self._client: S3Client | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        if not settings.s3_bucket:
            raise StorageConfigurationError(
                "MAILLON_S3_BUCKET doit être défini avec MAILLON_STORAGE_BACKEND=s3"
            )
        secret = settings.s3_secret_access_key
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            server_side_encryption=settings.s3_sse or None,
            prefix=settings.s3_prefix,
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    async def _s3(self) -> S3Client:
        if self._client is None:
            stack = contextlib.AsyncExitStack()
            client = await stack.enter_async_context(
                get_session().create_client("s3", **self._client_options)
            )
            self._exit, self._client = stack, client
        return self._client

    def _object(self, key: str) -> str:
        if not is_valid_key(key):
            raise InvalidStorageKey()
        return self.prefix + key

    async def check(self) -> None:
        """Open the client and reach the bucket; :class:`StorageConfigurationError` in French."""
        where = f"« {self.bucket} »" + (f" sur {self.endpoint_url}" if self.endpoint_url else "")
        try:
            s3 = await self._s3()
            await s3.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = _code(error)
            if code in _NO_BUCKET or code in _MISSING:
                message = f"le compartiment S3 {where} n'existe pas"
            elif code in _DENIED:
                message = (
                    f"les identifiants S3 sont refusés pour le compartiment {where} "
                    "(vérifiez MAILLON_S3_ACCESS_KEY_ID et MAILLON_S3_SECRET_ACCESS_KEY)"
                )
            else:
                message = f"le compartiment S3 {where} ne répond pas comme prévu ({code})"
            raise StorageConfigurationError(f"Stockage des fichiers : {message}.") from None
        except (BotoCoreError, OSError) as error:
            raise StorageConfigurationError(
                f"Stockage des fichiers : le service S3 du compartiment {where} est injoignable "
                f"({type(error).__name__}) ; vérifiez MAILLON_S3_ENDPOINT_URL et le réseau."
            ) from None

    async def aclose(self) -> None:
        stack, self._exit, self._client = self._exit, None, None
        if stack is not None:
            await stack.aclose()

    async def put(self, key: str, content: Content) -> StoredObject:
        name = self._object(key)
        s3 = await self._s3()
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[CompletedPartTypeDef] = []
        try:
            async for chunk in iter_content(content):
                digest.update(chunk)
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= self.part_size:
                    if upload_id is None:
                        created = await s3.create_multipart_upload(
                            Bucket=self.bucket, Key=name, **self._sse
                        )
                        upload_id = created["UploadId"]
                    part = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    number = len(parts) + 1
                    sent = await s3.upload_part(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=part,
                    )
                    parts.append({"ETag": sent["ETag"], "PartNumber": number})
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=name, Body=bytes(buffer), **self._sse)
            else:
                if buffer or not parts:
                    number = len(parts) + 1
                    sent = await s3.upload_part(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=bytes(buffer),
                    )
                    parts.append({"ETag": sent["ETag"], "PartNumber": number})
                await s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            if upload_id is not None:
                # The parts already sent would otherwise be kept (and billed) by the store.
                with contextlib.suppress(Exception):
                    await s3.abort_multipart_upload(
                        Bucket=self.bucket, Key=name, UploadId=upload_id
                    )
            raise
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    async def get(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.open(key)])

    async def open(self, key: str, *, chunk_size: int = _CHUNK) -> AsyncIterator[bytes]:
        name = self._object(key)
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if _code(error) in _MISSING:
                raise StoredFileNotFound() from None
            raise
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def delete(self, key: str) -> bool:
        name = self._object(key)
        if not await self.exists(key):
            return False
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=name)
        return True

    async def exists(self, key: str) -> bool:
        name = self._object(key)
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise
        return True
