"""What routes take by dependency: the runtime (hung on ``app.state``), never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from notifier.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# Ids are database integers: larger ones cannot exist, and are refused (422) before any query.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
