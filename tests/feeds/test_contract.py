"""A landed file's identity: the sha256 of its bytes (after its scope, for a scoped feed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.feeds import contract


@pytest.mark.parametrize("scope", ["", "registry/jatim"])
def test_a_file_read_in_many_pieces_has_the_sha256_of_its_bytes(
    scope: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytes(range(256)) * 40 + b"tail"
    path = tmp_path / "landed.csv"
    path.write_bytes(data)
    monkeypatch.setattr(contract, "HASH_CHUNK_BYTES", 1000)  # 11 pieces, the last one short
    prefix = f"{scope}\n".encode() if scope else b""

    assert contract.file_sha256(path, scope) == hashlib.sha256(prefix + data).hexdigest()
