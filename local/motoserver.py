"""The embedded AWS as its own process: moto's server with the local mode's DynamoDB patches
(``local.embedded_dynamodb``) applied, or without them (``--unpatched``, for the equivalence test).

    python -m local.motoserver -H 127.0.0.1 -p 5010 [--unpatched]

``make run`` starts the same server in-process (``local.server``); the benchmark and the equivalence test start
this module so that the server's CPU and memory are measured apart from the client's.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--unpatched" in args:
        args.remove("--unpatched")
    else:
        from local.embedded_aws import install, tune_gc

        install()
        tune_gc()
    from moto.server import main as moto_main

    moto_main(args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(patched: bool = True) -> Iterator[tuple[str, int]]:
    """Start this server in a child process; yield its endpoint and process id; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "local.motoserver", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [*cmd, *([] if patched else ["--unpatched"])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()  # noqa: S310 - http://127.0.0.1 only
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"moto server exited with {proc.returncode}") from None
                time.sleep(0.05)
        else:
            raise RuntimeError("moto server did not start within 20 s")
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
