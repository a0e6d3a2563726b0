"""``/static/{name}``: the console's own stylesheet and script (no CDN: the machine may have no
internet)."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from notifier.web.views import STATIC_DIR

STATIC_FILES = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "firm_page.js": "text/javascript",
}

router = APIRouter(include_in_schema=False)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """One of :data:`STATIC_FILES`; anything else is not found."""
    media = STATIC_FILES.get(name)
    if media is None:
        raise HTTPException(status_code=404, detail="no such file")
    return FileResponse(STATIC_DIR / name, media_type=media)
