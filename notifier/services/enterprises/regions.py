"""The regions of the register as a tree a clerk picks from, and short names resolved.

Regions are ``/`` paths (``浙江省/宁波市/北仑区/大碶街道/…社区``). The picker shows every prefix
from the deepest level all firms share (the district, usually) down to the communities, each
with its number of firms; a target typed as its last segments alone (``大碶街道``) is resolved to
the one full path that ends so, for every face (API, CLI, console); a name that ends several
regions or none is refused, naming the field and, when several, the candidates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from notifier.domain.scope import DISTRICT, Scope, ScopeKind
from notifier.domain.targets import Targets
from notifier.errors import InputError
from notifier.store import enterprises
from notifier.store.db import SessionFactory

_SEP = "/"
_SHOWN_CANDIDATES = 5
FIELD = "targets.regions"


@dataclass(frozen=True)
class Region:
    """One region a clerk can choose: its full path, its own name, how deep it is shown
    (0: the top of the picker) and how many firms it holds."""

    path: str
    name: str
    depth: int
    firms: int


def _prefixes(path: str) -> list[str]:
    segments = path.split(_SEP)
    return [_SEP.join(segments[: end + 1]) for end in range(len(segments))]


def region_tree(counts: Iterable[tuple[str, int]]) -> list[Region]:
    """Every prefix of the given regions, in path order, below their shared ancestors (the
    last shared segment is the top)."""
    firms: Counter[str] = Counter()
    paths = []
    for path, count in counts:
        paths.append(path.split(_SEP))
        for prefix in _prefixes(path):
            firms[prefix] += count
    if not paths:
        return []
    shared = 0  # leading segments every path has, and more below them
    while all(len(p) > shared + 1 for p in paths) and len({p[shared] for p in paths}) == 1:
        shared += 1
    top = max(shared - 1, 0)
    return [
        Region(path=prefix, name=segments[-1], depth=len(segments) - 1 - top, firms=firms[prefix])
        for prefix in sorted(firms)
        if len(segments := prefix.split(_SEP)) > top
    ]


def region_choices(sessions: SessionFactory, scope: Scope = DISTRICT) -> list[Region]:
    """The register's regions (those of the firms ``scope`` counts) as the compose page's
    picker shows them (one query)."""
    with sessions() as session:
        return region_tree(enterprises.region_counts(session, scope=scope))


def _refusal(region: str, found: list[str]) -> InputError:
    """Why ``region`` names no one region: the candidates it ends (the first few), or none."""
    if not found:
        return InputError(
            f"{FIELD}: 地区“{region}”不在企业名录的地区中 / region {region!r} is not a region "
            "of the register (give its full path or the end of one, e.g. 大碶街道)",
            field=FIELD,
        )
    shown = found[:_SHOWN_CANDIDATES]
    more = f" 等 {len(found)} 个" if len(found) > len(shown) else ""
    return InputError(
        f"{FIELD}: 地区“{region}”不唯一，可能是：{'、'.join(shown)}{more}；请写出上级 / region "
        f"{region!r} matches {len(found)} regions ({', '.join(shown)}); give its parent too",
        field=FIELD,
    )


def resolve(typed: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """Each typed region as the full path it names: itself when it is a region of the register
    (or a prefix of one), else the one such path that ends with it segment by segment
    (``大碶街道``, ``北仑区/大碶街道``).

    Raises:
        InputError: (field ``targets.regions``) a name that ends several regions (they are
            named) or none.
    """
    paths = {prefix for path in known for prefix in _prefixes(path)}
    resolved: list[str] = []
    for region in typed:
        name = region.strip().strip(_SEP)
        found = [name] if name in paths else sorted(p for p in paths if p.endswith(_SEP + name))
        if len(found) != 1:
            raise _refusal(region, found)
        if found[0] not in resolved:
            resolved.append(found[0])
    return tuple(resolved)


def resolve_regions(sessions: SessionFactory, typed: Iterable[str]) -> tuple[str, ...]:
    """:func:`resolve` against the regions the register holds (one query, none when nothing
    is typed)."""
    wanted = tuple(typed)
    if not wanted:
        return ()
    with sessions() as session:
        return resolve(wanted, (path for path, _ in enterprises.region_counts(session)))


def with_full_regions(
    sessions: SessionFactory, targets: Targets, *, scope: Scope = DISTRICT
) -> Targets:
    """``targets`` with each region as the full path it names (:func:`resolve`): what every
    face's policy, correction, preview and campaign goes through before it is checked or
    stored, so ``大碶街道`` means one thing in the API, the CLI and the console. A community's
    staff target inside their community: no region means the community's regions.

    Raises:
        InputError: (field ``targets.regions``) as :func:`resolve`, or a region outside the
            actor's community.
    """
    regions = resolve_regions(sessions, targets.regions)
    regions = within_scope(regions, scope)
    return targets if regions == targets.regions else replace(targets, regions=regions)


def within_scope(regions: tuple[str, ...], scope: Scope) -> tuple[str, ...]:
    """The target regions of an actor of ``scope``: as given for the district; a community's
    own regions when none is given; refused when one lies outside the community.

    Raises:
        InputError: (field ``targets.regions``) a region outside the community.
    """
    if scope.kind != ScopeKind.COMMUNITY:
        return regions
    if not regions:
        return scope.regions
    outside = [region for region in regions if not scope.covers(region)]
    if outside:
        raise InputError(
            f"{FIELD}: 目标地区“{outside[0]}”不在{scope.community or '本社区'}内 / target_regions: "
            f"{outside[0]!r} is outside the community ({', '.join(scope.regions) or 'no region'})",
            field=FIELD,
        )
    return regions
