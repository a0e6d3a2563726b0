"""What routes take by dependency: the runtime (hung on ``app.state``), never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from notifier.runtime import Runtime
from notifier.web.export_pool import ExportPool


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_exports(request: Request) -> ExportPool:
    """The child process that builds the app's large exports."""
    exports = request.app.state.exports
    assert isinstance(exports, ExportPool)
    return exports


ExportsDep = Annotated[ExportPool, Depends(get_exports)]

# Ids are database integers: larger ones cannot exist, and are refused (422) before any query.
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
