"""Finding the configured tables and the province domains in BPS's own listings.

Nobody types a BPS id: the subject is found by its title in the subject list, each table by the
words of its title among the subject's variables, and each province domain is mapped to its
Kemendagri province by name (``domain/type/prov``: ``domain_id``, ``domain_name``). BPS numbers
the Papua provinces differently from Kemendagri; reading the names is what tells the two apart,
and the crosswalk that decodes national tables must agree with it or the pull stops.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipelines.feeds.bps.api import clean_label
from pipelines.feeds.bps.client import BpsClient
from pipelines.feeds.bps.tables import (
    CONFIG_NAME,
    NATIONAL_DOMAIN,
    BpsConfigError,
    BpsTable,
    Search,
    TableConfig,
    load_crosswalk,
    title_words,
)
from pipelines.reference.regions import RegionResolutionError, load_regions

log = logging.getLogger(__name__)

SHOWN_CANDIDATES = 10
"""How many near misses an error names: enough to spot the right one, short enough to read."""


class BpsDiscoveryError(BpsConfigError):
    """A table, subject or domain is missing from BPS's listing, found twice, or contradicts a
    pin or the crosswalk; the message names the candidates. Nothing was pulled."""


@dataclass(frozen=True)
class ProvinceDomain:
    """A province domain BPS lists, with the Kemendagri province its name means."""

    domain: str
    bps_name: str
    province_code: str
    province_name: str


@dataclass(frozen=True)
class FoundTable:
    """A configured table as BPS lists it: its id and title, and the domains to pull."""

    table: BpsTable
    var: int
    title: str
    domains: tuple[str, ...]


@dataclass(frozen=True)
class Discovery:
    subject_id: int
    subject: str
    tables: tuple[FoundTable, ...]
    provinces: tuple[ProvinceDomain, ...]


def discover(client: BpsClient, config: TableConfig) -> Discovery:
    """Every configured table and every province domain, found in BPS's listings."""
    provinces = province_domains(client)
    search = config.search
    subject_id, subject = find_subject(client, search)
    variables = list(
        client.list_items(
            "list/model/var/lang/ind/domain",
            search.domain,
            "subject",
            subject_id,
            what=f"the BPS variable list of subject {subject_id} in domain {search.domain}",
        )
    )
    listed = (NATIONAL_DOMAIN, *sorted(p.domain for p in provinces))
    where = f"subject {subject!r} (sub_id {subject_id}) of domain {search.domain}"
    tables = tuple(
        FoundTable(table, *find_variable(table, variables, where), pulled_domains(table, listed))
        for table in config.tables
    )
    return Discovery(subject_id, subject, tables, provinces)


def find_subject(client: BpsClient, search: Search) -> tuple[int, str]:
    subjects = list(
        client.list_items(
            "list/model/subject/lang/ind/domain",
            search.domain,
            what=f"the BPS subject list of domain {search.domain}",
        )
    )
    titles = {int(s["sub_id"]): clean_label(s.get("title", "")) for s in subjects}
    found = [(i, t) for i, t in titles.items() if title_words(t) == title_words(search.subject)]
    if len(found) == 1:
        return found[0]
    if found:
        raise BpsDiscoveryError(
            f"{CONFIG_NAME}: BPS lists {len(found)} subjects titled {search.subject!r} in domain "
            f"{search.domain}: {named(found)}; the subject must be one"
        )
    close = difflib.get_close_matches(search.subject, titles.values(), n=SHOWN_CANDIDATES)
    raise BpsDiscoveryError(
        f"{CONFIG_NAME}: no subject of BPS domain {search.domain} is titled {search.subject!r} "
        f"(of {len(titles)}; closest: "
        f"{named((i, t) for i, t in titles.items() if t in close) or 'none'}); "
        "correct `search.subject`"
    )


def find_variable(table: BpsTable, variables: list[dict[str, Any]], where: str) -> tuple[int, str]:
    """(var id, title) of the one listed variable whose title fits ``table``."""
    listed = [(int(v["var_id"]), clean_label(v.get("title", ""))) for v in variables]
    fitting = [(var, title) for var, title in listed if table.matches(title)]
    pinned = [(var, title) for var, title in fitting if var == table.var]
    if table.var is not None and not pinned:
        raise BpsDiscoveryError(
            f"{CONFIG_NAME}: {table.describe()} pins var {table.var}, but in {where} the "
            f"titles that fit are {named(fitting) or 'none'}; correct or remove the pin"
        )
    if pinned or len(fitting) == 1:
        return (pinned or fitting)[0]
    if fitting:
        raise BpsDiscoveryError(
            f"{CONFIG_NAME}: {table.describe()} is ambiguous in {where}: {named(fitting)}; "
            "add words to `title_contains` or pin `var`"
        )
    raise BpsDiscoveryError(
        f"{CONFIG_NAME}: {table.describe()} is not in {where}; its {len(listed)} variables "
        f"include {named(listed[:SHOWN_CANDIDATES]) or 'none'}; correct `title_contains`"
    )


def pulled_domains(table: BpsTable, listed: tuple[str, ...]) -> tuple[str, ...]:
    """The table's pinned domains, each of which BPS must list, or every listed domain."""
    unknown = [domain for domain in table.domains if domain not in listed]
    if unknown:
        raise BpsDiscoveryError(
            f"{CONFIG_NAME}: {table.describe()} pins domains {', '.join(unknown)}, which BPS "
            f"does not list (it lists {', '.join(listed)}); correct `domains`"
        )
    return table.domains or listed


def province_domains(client: BpsClient) -> tuple[ProvinceDomain, ...]:
    """BPS's province domains, each mapped to a Kemendagri province by its name."""
    found: dict[str, ProvinceDomain] = {}
    for item in client.list_items("domain/type/prov", what="the BPS province domain list"):
        domain = province_domain(item)
        earlier = found.get(domain.province_code)
        if earlier is not None:
            raise BpsDiscoveryError(
                f"BPS domains {earlier.domain} ({earlier.bps_name!r}) and {domain.domain} "
                f"({domain.bps_name!r}) both name {domain.province_name} "
                f"({domain.province_code}); a spelling in province_aliases.csv may be wrong"
            )
        found[domain.province_code] = domain
    unlisted = sorted(set(load_regions().provinces) - set(found))
    if unlisted:
        log.warning("BPS lists no domain for Kemendagri provinces %s", ", ".join(unlisted))
    return tuple(sorted(found.values(), key=lambda d: d.domain))


def province_domain(item: dict[str, Any]) -> ProvinceDomain:
    domain, name = str(item.get("domain_id", "")), clean_label(item.get("domain_name", ""))
    try:
        province = load_regions().resolve_province(name)
    except RegionResolutionError as error:
        raise BpsDiscoveryError(
            f"BPS lists province domain {domain} as {name!r}, which names no Kemendagri "
            f"province: {error}"
        ) from None
    entry = load_crosswalk().current(domain[:2]) if domain.endswith("00") else None
    if entry is None or entry.province_code != province.code:
        maps_to = f"maps BPS code {domain[:2]} to {entry.province_code}" if entry else "lacks it"
        raise BpsDiscoveryError(
            f"BPS domain {domain} is {name!r}, Kemendagri {province.code} ({province.name}), "
            f"but pipelines/reference/bps_province_crosswalk.csv {maps_to}; the national tables "
            "are decoded through that file, so correct it (and bps_code in provinces.csv)"
        )
    return ProvinceDomain(domain, name, province.code, province.name)


def named(found: Iterable[tuple[int, str]]) -> str:
    return ", ".join(f"{ident} {title!r}" for ident, title in found)
