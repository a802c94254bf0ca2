from __future__ import annotations

from typing import Annotated

from fastapi import File, Query, UploadFile

from hub.auth.deps import OpsKey
from hub.edge import APIRouter
from hub.errors import problems
from hub.imports import service
from hub.imports.kinds import ImportKind
from hub.imports.service import MAX_BYTES, ImportReport, check_size

router = APIRouter(prefix="/imports", tags=["imports"])


@router.post(
    "/{kind}",
    summary="Import rows from a CSV file, all or nothing",
    description="The whole file is checked first; one bad row and nothing is written, and the 422 answer "
    "lists every bad row (`line`, `field`, `message`; the first 1,000). UTF-8 or GB18030, header row required.",
    responses=problems(401, 403, 409, 413, 422),
)
async def import_file(
    kind: ImportKind,
    key: OpsKey,
    file: Annotated[UploadFile, File(description="The CSV file")],
    dry_run: Annotated[bool, Query(description="Check and count, write nothing")] = False,
) -> ImportReport:
    data, _ = await read_upload(file, fallback_name="The file")
    return await service.import_csv(kind=kind, data=data, dry_run=dry_run)


async def read_upload(upload: UploadFile, *, fallback_name: str) -> tuple[bytes, str]:
    """An uploaded file's bytes, never more than the cap (a 413 past it), and its name for the record."""
    data = await upload.read(MAX_BYTES + 1)  # the upload is spooled to disk; read no more than the cap
    name = (upload.filename or fallback_name)[-200:]
    check_size(data, name)
    return data, name
