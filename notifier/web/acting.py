"""Who acts through the web faces: the :class:`Actor` and :class:`Context` a route hands to a
service, built from the caller's API key (API, console) or the enterprise of a signed link."""

from __future__ import annotations

from typing import Literal

from notifier.runtime import Runtime
from notifier.services.access.api_keys import Principal
from notifier.services.context import Actor, Context


def key_actor(principal: Principal, face: Literal["api", "console"]) -> Actor:
    """The holder of an API key (signed in to the console with it, or calling the API)."""
    return Actor(name=principal.prefix, role=principal.role.value, face=face)


def key_context(
    runtime: Runtime, principal: Principal, face: Literal["api", "console"]
) -> Context:
    """The context of one operation a key's holder asks for through ``face``."""
    return runtime.context(key_actor(principal, face))


def page_context(runtime: Runtime, enterprise_id: int) -> Context:
    """The context of one operation an enterprise does on its own pages (the signed link is
    its credential: no key names it, so its id does)."""
    actor = Actor(name=f"enterprise:{enterprise_id}", role="enterprise", face="page")
    return runtime.context(actor)
