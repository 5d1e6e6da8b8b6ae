"""A real S3-protocol server on loopback for the tests: moto's standalone server, in its own
process, with authentication enforced (wrong keys are refused as a real store refuses them)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import botocore.session
from botocore.config import Config

REGION = "eu-west-3"
BUCKET = "maillon-files"
# Requests the server lets through before it checks signatures: the three calls that make the
# user whose keys the tests use. Every later request must be signed with known keys.
_UNSIGNED_SETUP_CALLS = 3


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    region: str
    bucket: str
    access_key_id: str
    secret_access_key: str

    def client(self, service: str = "s3", **keys: str) -> object:
        return botocore.session.get_session().create_client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=keys.get("access_key_id", self.access_key_id),
            aws_secret_access_key=keys.get("secret_access_key", self.secret_access_key),
            config=Config(s3={"addressing_style": "path"}),
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(400):  # bounded: at most ~40 s on a loaded machine
        if process.poll() is not None:
            raise RuntimeError(f"the S3 server exited ({process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the S3 server did not start")


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    port = _free_port()
    environment = {
        **os.environ,
        "INITIAL_NO_AUTH_ACTION_COUNT": str(_UNSIGNED_SETUP_CALLS),
        "AWS_DEFAULT_REGION": REGION,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process)
        endpoint = f"http://127.0.0.1:{port}"
        setup = S3Server(endpoint, REGION, BUCKET, "setup", "setup-secret")
        iam = setup.client("iam")
        iam.create_user(UserName="maillon")  # type: ignore[attr-defined]
        iam.put_user_policy(  # type: ignore[attr-defined]
            UserName="maillon",
            PolicyName="files",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        keys = iam.create_access_key(UserName="maillon")["AccessKey"]  # type: ignore[attr-defined]
        server = S3Server(endpoint, REGION, BUCKET, keys["AccessKeyId"], keys["SecretAccessKey"])
        server.client().create_bucket(  # type: ignore[attr-defined]
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
