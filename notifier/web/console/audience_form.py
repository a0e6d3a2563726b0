"""The audience part of a console form (sectors, regions, sizes, tags, a policy's topics, credit
codes), shared by the policy compose form, the correction form and the campaign form: read as a
file's ``targets`` object, refilled after a refusal, and the pickers' choices
(``console/_audience.html``): the register's regions, tags and topics as boxes with their
numbers of firms, and a typed field beside each for values not offered (a new tag)."""

import re
from typing import Any

from starlette.datastructures import FormData

from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.sectors import catalogue, code_of_name
from notifier.runtime import Runtime
from notifier.services.enterprises.labels import Choice, label_choices
from notifier.services.enterprises.regions import region_choices

LIST_SEPARATORS = re.compile(r"[,;，；、\s]+")
TARGET_FIELDS = ("sectors", "regions", "tags", "credit_codes")
SIZES = ("large", "medium", "small", "micro")


def words_of(value: Any) -> list[str]:
    """The words of a typed list (commas, semicolons, 、 or spaces between them)."""
    return [w for w in LIST_SEPARATORS.split(str(value or "")) if w]


def all_words(form: FormData, name: str) -> list[str]:
    """The words of every field called ``name`` (the picker's boxes and the typed field),
    each once, in order."""
    found = [w for value in form.getlist(name) for w in words_of(value)]
    if name == "sectors":
        # The picker offers "C3670 汽车零部件及配件制造"; a name typed alone is its code.
        found = [code_of_name(w) for w in found]
    return list(dict.fromkeys(found))


def targets_data(form: FormData, *, extra_codes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form's audience as a file's ``targets`` object (empty lists left out);
    ``extra_codes`` join the typed credit codes (an uploaded list)."""
    targets: dict[str, Any] = {name: all_words(form, name) for name in TARGET_FIELDS}
    targets["credit_codes"] = list(dict.fromkeys([*targets["credit_codes"], *extra_codes]))
    targets["sizes"] = [str(s) for s in form.getlist("sizes")]
    return {name: values for name, values in targets.items() if values}


def refilled(form: FormData) -> dict[str, Any]:
    """The posted fields, to show the form again as it was sent (the pickers' fields as
    lists of their words, uploads left out)."""
    refill: dict[str, Any] = {k: form.get(k) for k in form if isinstance(form.get(k), str)}
    for name in ("sizes", "channels"):
        refill[name] = form.getlist(name)
    for name in ("regions", "sectors", "tags", "topics"):
        refill[name] = all_words(form, name)
    return refill


def _chosen(form: dict[str, Any], name: str) -> list[str]:
    """The values of ``name`` in a refilled or prefilled form (a list, or typed words)."""
    value = form.get(name) or ()
    return words_of(value) if isinstance(value, str) else [str(v) for v in value]


def _boxes(name: str, choices: list[Choice], form: dict[str, Any]) -> dict[str, Any]:
    """One label picker's part: its boxes, those ticked, and the others as typed text."""
    chosen = _chosen(form, name)
    offered = {c.value for c in choices}
    return {
        f"{name}_choices": choices,
        f"picked_{name}": set(chosen),
        f"typed_{name}": ", ".join(v for v in chosen if v not in offered),
    }


def picker_choices(
    runtime: Runtime, form: dict[str, Any], *, topics: bool = False, scope: Scope = DISTRICT
) -> dict[str, Any]:
    """What ``console/_audience.html`` shows: the register's regions, tags and (with
    ``topics``: a policy's form) topics, those in ``form`` ticked and others typed, the sector
    catalogue and the sizes; a community's staff are offered their community's regions."""
    regions = region_choices(runtime.sessions, scope)
    paths = {c.path for c in regions}
    typed = [r for r in form.get("regions") or () if r not in paths]
    labels = label_choices(runtime.sessions)
    return {
        "sizes": SIZES,
        "regions": regions,
        "picked_regions": set(form.get("regions") or ()),
        "typed_regions": " ".join(typed),
        "sector_catalogue": catalogue(),
        **_boxes("tags", labels.tags, form),
        **(_boxes("topics", labels.topics, form) if topics else {"topics_choices": None}),
    }
