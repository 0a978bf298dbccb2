"""Host-wide exclusive locks on a path, for work that two processes must not interleave."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def host_lock(purpose: str, path: Path) -> Iterator[None]:
    """Hold the host's ``purpose`` lock on ``path`` (blocking) until the block ends.

    The lock file lives in the temp folder, not beside ``path``: BI users see only the marts in
    a warehouse folder. It serves the processes of one host; an S3 warehouse shared by many
    hosts relies on its conditional writes instead.
    """
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"sentra-{purpose}-{digest}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
