"""Indonesia's provinces and regencies, and resolution of the names offices write for them.

Registries arrive with "JATIM", "Prov. Jawa Timur", "Kab. Malang" or a bare "Malang"; every row
must land on exactly one Kemendagri code, or fail loudly. Nothing here guesses: a name that fits
two regencies (Kabupaten and Kota Malang) is an error that names both.

BPS numbers the Papua provinces differently from Kemendagri, so a ``Province`` carries both codes
and sources are never joined on a bare 2-digit code.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import TypeVar

__all__ = [
    "Province",
    "Regency",
    "RegionDirectory",
    "RegionResolutionError",
    "load_regions",
    "normalise_place_name",
]

_T = TypeVar("_T")

# Enough for every distinct spelling in a national registry; bounded so a file of junk
# cannot grow the cache without limit.
_CACHE_SIZE = 65_536


@dataclass(frozen=True)
class Province:
    code: str
    """Kemendagri 2-digit code, e.g. "35"."""
    name: str
    """Kemendagri name, e.g. "Jawa Timur"."""
    bps_code: str
    """BPS master-file code; differs from ``code`` for the Papua provinces."""
    island_group: str


@dataclass(frozen=True)
class Regency:
    code: str
    """Kemendagri code "PP.RR", e.g. "35.07"."""
    name: str
    """Kemendagri name with its prefix, e.g. "Kabupaten Malang"."""
    province_code: str
    kind: str
    """ "kabupaten" or "kota"."""


class RegionResolutionError(ValueError):
    """A province or regency name or code that cannot be resolved to exactly one region."""


# Abbreviations offices write for words that appear in official names or their prefixes.
_WORD_FORMS = {
    "kab": "kabupaten",
    "kep": "kepulauan",
    "kepl": "kepulauan",
    "adm": "administrasi",
    "admin": "administrasi",
    "kodya": "kota",
    "kotamadya": "kota",
    "prov": "provinsi",
    "propinsi": "provinsi",
    "sumatra": "sumatera",
}
# Long forms folded onto the abbreviations that offices use far more often than the long forms.
_PHRASE_FORMS = (
    (re.compile(r"\bdaerah istimewa\b"), "di"),
    (re.compile(r"\bdaerah khusus ibukota\b"), "dki"),
    (re.compile(r"\bdaerah khusus ibu kota\b"), "dki"),
)
_NOT_WORD = re.compile(r"[\W_]+")
_PROVINCE_CODE = re.compile(r"\d{2}")
_REGENCY_CODE = re.compile(r"(\d{2})\.?(\d{2})")
_CODE_LIKE = re.compile(r"[\d.]+")
_KIND_PREFIXES = (
    (("kabupaten", "administrasi"), "kabupaten"),
    (("kota", "administrasi"), "kota"),
    (("kabupaten",), "kabupaten"),
    (("kota",), "kota"),
)


def normalise_place_name(text: str) -> str:
    """Fold the spelling differences that do not change which place is meant.

    Case, punctuation, Unicode width forms and spacing are dropped; dotted initials are joined
    ("D.K.I." -> "dki"); common abbreviations are expanded ("Kab." -> "kabupaten") and
    "Daerah Istimewa" / "Daerah Khusus Ibukota" become "di" / "dki".
    """
    words = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split()
    joined = " ".join(_WORD_FORMS.get(word, word) for word in _join_initials(words))
    for pattern, short in _PHRASE_FORMS:
        joined = pattern.sub(short, joined)
    return joined


def _join_initials(words: list[str]) -> Iterator[str]:
    """Join runs of single letters, which is what dotted initials become once dots are gone."""
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            yield run
            run = ""
        yield word
    if run:
        yield run


def _compact(normalised: str) -> str:
    # Offices write "Gunung Kidul" and "Gunungkidul", "Toli-Toli" and "Tolitoli" for one place.
    return normalised.replace(" ", "")


def _province_key(text: str) -> str:
    words = normalise_place_name(text).split()
    if words[:1] == ["provinsi"]:
        words = words[1:]
    return _compact(" ".join(words))


def _split_kind(normalised: str) -> tuple[str | None, str]:
    """Split "kabupaten malang" into ("kabupaten", "malang"); no prefix gives (None, text)."""
    words = normalised.split()
    for prefix, kind in _KIND_PREFIXES:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            return kind, " ".join(words[len(prefix) :])
    return None, normalised


def _describe(regencies: Iterable[Regency]) -> str:
    return ", ".join(f"{regency.name} ({regency.code})" for regency in regencies)


def _unwrap(result: _T | RegionResolutionError) -> _T:
    # Failures are cached as values; raise a fresh error so tracebacks do not pile up.
    if isinstance(result, RegionResolutionError):
        raise RegionResolutionError(*result.args)
    return result


def _require_text(text: str | None, what: str) -> str:
    stripped = (text or "").strip()
    if not stripped:
        raise RegionResolutionError(f"{what} is empty: give a Kemendagri name or code")
    return stripped


class RegionDirectory:
    """Provinces and regencies by Kemendagri code, with name resolution for registry rows."""

    def __init__(
        self,
        provinces: Iterable[Province],
        regencies: Iterable[Regency],
        aliases: Iterable[tuple[str, str]],
    ) -> None:
        self.provinces: dict[str, Province] = {p.code: p for p in provinces}
        self.regencies: dict[str, Regency] = {r.code: r for r in regencies}
        self._by_bps_code = {p.bps_code: p for p in self.provinces.values()}
        self.province_spellings = [(p.name, p.code) for p in self.provinces.values()]
        """Each province's official name and known aliases, as (spelling, code)."""
        self.province_spellings += list(aliases)
        self._province_keys = self._index_province_names(self.province_spellings)
        self._by_kind_and_name: dict[tuple[str, str, str], Regency] = {}
        self._by_name: dict[tuple[str, str], list[Regency]] = defaultdict(list)
        self._anywhere: dict[str, list[Regency]] = defaultdict(list)
        for regency in self.regencies.values():
            self._index_regency(regency)
        self._cached_province: Callable[[str], Province | RegionResolutionError] = lru_cache(
            _CACHE_SIZE
        )(self._lookup_province)
        self._cached_regency: Callable[[str, str], Regency | RegionResolutionError] = lru_cache(
            _CACHE_SIZE
        )(self._lookup_regency)

    def _index_province_names(self, spellings: list[tuple[str, str]]) -> dict[str, Province]:
        keys: dict[str, Province] = {}
        for spelling, code in spellings:
            if code not in self.provinces:
                raise ValueError(f"province alias {spelling!r} points to unknown code {code!r}")
            key = _province_key(spelling)
            if keys.setdefault(key, self.provinces[code]).code != code:
                raise ValueError(
                    f"province spelling {spelling!r} would mean both {keys[key].name} "
                    f"and {self.provinces[code].name}"
                )
        return keys

    def _index_regency(self, regency: Regency) -> None:
        kind, bare = _split_kind(normalise_place_name(regency.name))
        if kind != regency.kind:
            raise ValueError(f"regency {regency.name!r} does not start with {regency.kind!r}")
        name = _compact(bare)
        self._by_kind_and_name[(regency.province_code, regency.kind, name)] = regency
        self._by_name[(regency.province_code, name)].append(regency)
        self._anywhere[name].append(regency)

    def resolve_province(self, text: str | None) -> Province:
        """The province meant by a Kemendagri code, official name or known alias."""
        return _unwrap(self._cached_province(_require_text(text, "province")))

    def resolve_regency(self, text: str | None, province_code: str) -> Regency:
        """The regency of ``province_code`` meant by a code, a name with or without prefix."""
        return _unwrap(self._cached_regency(_require_text(text, "regency"), province_code))

    def province_by_bps_code(self, bps_code: str) -> Province:
        """The province BPS numbers ``bps_code`` (BPS and Kemendagri differ for Papua)."""
        province = self._by_bps_code.get(bps_code.strip())
        if province is None:
            raise RegionResolutionError(
                f"BPS province code {bps_code!r} is unknown; known BPS codes: "
                f"{', '.join(sorted(self._by_bps_code))}"
            )
        return province

    def _lookup_province(self, text: str) -> Province | RegionResolutionError:
        if _PROVINCE_CODE.fullmatch(text):
            return self.provinces.get(text) or RegionResolutionError(
                f"province code {text!r} is not a Kemendagri province code "
                f"(11..96, e.g. '35' for Jawa Timur)"
            )
        key = _province_key(text)
        return self._province_keys.get(key) or RegionResolutionError(
            f"province {text!r} is not a Kemendagri province name, code or known alias"
            f"{self._province_suggestions(key)}; write the official name or the 2-digit "
            "Kemendagri code, or add the spelling to pipelines/reference/province_aliases.csv"
        )

    def _province_suggestions(self, key: str) -> str:
        close = difflib.get_close_matches(key, self._province_keys, n=3, cutoff=0.6)
        names = dict.fromkeys(
            f"{self._province_keys[k].name} ({self._province_keys[k].code})" for k in close
        )
        return f" (closest: {', '.join(names)})" if names else ""

    def _lookup_regency(self, text: str, province_code: str) -> Regency | RegionResolutionError:
        province = self.provinces.get(province_code)
        if province is None:
            return RegionResolutionError(
                f"cannot resolve regency {text!r}: province code {province_code!r} is not a "
                "Kemendagri province code; resolve the province first"
            )
        if _CODE_LIKE.fullmatch(text):
            return self._regency_by_code(text, province)
        return self._regency_by_name(text, province)

    def _regency_by_code(self, text: str, province: Province) -> Regency | RegionResolutionError:
        code = _REGENCY_CODE.fullmatch(text)
        regency = self.regencies.get(f"{code[1]}.{code[2]}") if code else None
        if regency is None:
            return RegionResolutionError(
                f"regency code {text!r} is not a Kemendagri regency code; codes look like "
                f"'{province.code}.01' or '{province.code}01' (a code read from a number cell "
                "may have lost a trailing zero: 35.1 for 35.10)"
            )
        if regency.province_code != province.code:
            owner = self.provinces[regency.province_code]
            return RegionResolutionError(
                f"regency code {text!r} is {regency.name} in {owner.name} ({owner.code}), "
                f"not in {province.name} ({province.code}); check the province column"
            )
        return regency

    def _regency_by_name(self, text: str, province: Province) -> Regency | RegionResolutionError:
        normalised = normalise_place_name(text)
        kind, bare = _split_kind(normalised)
        if kind is not None:
            regency = self._by_kind_and_name.get((province.code, kind, _compact(bare)))
            if regency is not None:
                return regency
        # "Kota Baru" may be the bare name of Kabupaten Kotabaru rather than a "Kota" prefix.
        matches = self._by_name.get((province.code, _compact(normalised)), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            return RegionResolutionError(
                f"regency {text!r} is ambiguous in {province.name} ({province.code}): it may be "
                f"{_describe(matches)}; write the prefix, e.g. 'Kab. {text.strip()}' or "
                f"'Kota {text.strip()}', or the code"
            )
        return RegionResolutionError(
            f"regency {text!r} is not a regency of {province.name} ({province.code})"
            f"{self._regency_hint(_compact(bare), province)}"
        )

    def _regency_hint(self, name: str, province: Province) -> str:
        same_name = self._anywhere.get(name, [])
        here = [r for r in same_name if r.province_code == province.code]
        if here:
            return f"; did you mean {_describe(here)}?"
        if same_name:
            return f"; that name is {_describe(same_name)} elsewhere: check the province column"
        known = [k for (code, k) in self._by_name if code == province.code]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        candidates = [r for k in close for r in self._by_name[(province.code, k)]]
        return f"; closest: {_describe(candidates)}" if candidates else ""


def _read_reference(filename: str) -> list[dict[str, str]]:
    text = resources.files("pipelines.reference").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_regions() -> RegionDirectory:
    """The directory built from the package's Kemendagri reference data (read once)."""
    provinces = (
        Province(r["province_code"], r["name"], r["bps_code"], r["island_group"])
        for r in _read_reference("provinces.csv")
    )
    regencies = (
        Regency(r["kode"], r["nama"], r["kode"][:2], r["nama"].split()[0].casefold())
        for r in _read_reference("kemendagri_regions.csv")
        if r["level"] == "2"
    )
    aliases = ((r["alias"], r["province_code"]) for r in _read_reference("province_aliases.csv"))
    return RegionDirectory(provinces, regencies, aliases)
