"""Pages of the previous version's report carried into the next one instead of rendered again.

A sentra page shows that sentra's row of the marts and its sales history, nothing of the
version (``assets/version.js`` fills that in), so a sentra whose figures did not change has the
very same page in the next version. At national size rendering the ~7,500 sentra pages took ~3 s
of every build, while an event changes the figures of a few sentra. So each report keeps a
manifest (``assets/pages.json``): the digest of what each page was rendered from, and the digest
of the renderer itself (templates, the report's code, Plotly's version). The next version carries
a page when both digests are unchanged, and renders it otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

log = logging.getLogger(__name__)

MANIFEST = "assets/pages.json"


@dataclass
class PageManifest:
    renderer: str
    """Digest of everything that turns a page's inputs into its HTML."""
    pages: dict[str, str] = field(default_factory=dict)
    """Digest of each carried-forward-able page's inputs, by the page's path in the report."""

    def to_json(self) -> bytes:
        return json.dumps({"renderer": self.renderer, "pages": self.pages}, indent=0).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PageManifest:
        parsed = json.loads(data)
        return cls(renderer=str(parsed["renderer"]), pages=dict(parsed["pages"]))


def renderer_digest(sources: Iterable[Path], *versions: str) -> str:
    """One digest of the files and library versions that render pages: any change renders all."""
    digest = hashlib.sha256("\n".join(versions).encode())
    for path in sorted(sources):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_digest(*inputs: object) -> str:
    """A digest of a page's inputs: rows of the marts (numbers, text, dates, lists of them).

    Their ``repr``, which is stable for such values and half the cost of JSON at ~7,500 pages.
    """
    return hashlib.blake2b(repr(inputs).encode(), digest_size=16).hexdigest()


class EarlierReport(ABC):
    """A report written before this one: its pages whose inputs are unchanged are carried."""

    def __init__(self, renderer: str) -> None:
        self.digests = self._digests(renderer)

    @abstractmethod
    def _manifest(self) -> bytes: ...

    @abstractmethod
    def _take(self, page: str, folder: Path) -> bool: ...

    def _digests(self, renderer: str) -> dict[str, str]:
        try:
            manifest = PageManifest.from_json(self._manifest())
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.info("Report pages: none to carry from %s (%s); all rendered", self, err)
            return {}
        if manifest.renderer != renderer:
            log.info("Report pages: the renderer changed since %s; all rendered", self)
            return {}
        return manifest.pages

    def carry(self, page: str, digest: str, folder: Path) -> bool:
        """Carry ``page`` into ``folder`` when its inputs are unchanged; False to render it."""
        return self.digests.get(page) == digest and self._take(page, folder)


class InstalledReport(EarlierReport):
    """The report installed in a local folder: its unchanged pages are hard-linked.

    A link, not a copy: the page's bytes stay where they are when the earlier folder is deleted
    after the swap, and linking ~7,500 files takes a fraction of rendering them.
    """

    def __init__(self, folder: Path, renderer: str) -> None:
        self.folder = folder
        self.made: set[Path] = set()  # folders made in the new report: one mkdir each, not ~7,500
        super().__init__(renderer)

    def __str__(self) -> str:
        return str(self.folder)

    def _manifest(self) -> bytes:
        return (self.folder / MANIFEST).read_bytes()

    def _take(self, page: str, folder: Path) -> bool:
        target = folder / page
        if target.parent not in self.made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(target.parent)
        try:
            os.link(self.folder / page, target)
        except OSError:  # the earlier folder was removed meanwhile, or is on another device
            return False
        return True


class UploadedReport(EarlierReport):
    """A report uploaded under a prefix of an object store: unchanged pages are copied there.

    Server-side copies, made by ``copies`` once the pages to render are written, so no page's
    bytes travel through this host.
    """

    def __init__(self, store: Storage, prefix: str, renderer: str) -> None:
        self.store, self.prefix = store, prefix
        self.carried: list[str] = []
        super().__init__(renderer)

    def __str__(self) -> str:
        return self.store.uri_for(self.prefix)

    def _manifest(self) -> bytes:
        return self.store.read_bytes(f"{self.prefix}/{MANIFEST}")

    def _take(self, page: str, folder: Path) -> bool:
        self.carried.append(page)
        return True

    def copies(self, prefix: str) -> list[tuple[str, str]]:
        """(source key, target key) of each carried page, for the report under ``prefix``."""
        return [(f"{self.prefix}/{page}", f"{prefix}/{page}") for page in self.carried]
