"""A run's files in S3, for the fleet: the master uploads its report, the load tester fetches it,
and a token file travels to the tasks the same way (`--tokens s3://...`, `--upload s3://...`).

Endpoints and credentials are boto3's usual ones (AWS_ENDPOINT_URL_S3 points it elsewhere, as
the local test does with moto's server).
"""

from __future__ import annotations

import mimetypes
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCHEME = "s3://"


def is_s3(location: str | Path | None) -> bool:
    return str(location or "").startswith(SCHEME)


def split(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix")."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/key URL: {url!r}")
    return parts.netloc, parts.path.lstrip("/")


def _client(client: S3Client | None) -> S3Client:
    return client or boto3.client("s3")


def upload_directory(directory: Path, url: str, client: S3Client | None = None) -> list[str]:
    """Every file of `directory` (not its subdirectories) under the URL's prefix; the keys written."""
    bucket, prefix = split(url)
    s3 = _client(client)
    keys = []
    for path in sorted(file for file in directory.iterdir() if file.is_file()):
        key = f"{prefix.rstrip('/')}/{path.name}" if prefix else path.name
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
        keys.append(key)
    return keys


def fetch_directory(url: str, directory: Path, client: S3Client | None = None) -> list[Path]:
    """Every object under the URL's prefix into `directory`, by the last part of its key; the files written."""
    bucket, prefix = split(url)
    s3 = _client(client)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for item in page.get("Contents", []):
            target = directory / item["Key"].rsplit("/", 1)[-1]
            s3.download_file(bucket, item["Key"], str(target))
            written.append(target)
    return written


def local_copy(location: str, client: S3Client | None = None) -> Path:
    """The file at `location`, or for an s3:// URL a private temporary copy of the object."""
    if not is_s3(location):
        return Path(location)
    bucket, key = split(location)
    handle = tempfile.NamedTemporaryFile(prefix="loadtest-", suffix=Path(key).suffix, delete=False)  # noqa: SIM115
    handle.close()
    _client(client).download_file(bucket, key, handle.name)
    return Path(handle.name)
