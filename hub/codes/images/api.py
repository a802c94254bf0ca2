"""QR images and printable cards of codes, store logos, and batch generation.

Images are for logged-in people only (an open renderer gets abused), with the code's own read rule:
staff see their own codes, store managers their store's, ops and admin all. Drawing takes 10-40 ms of
CPU, so it runs in the thread pool, not on the event loop. Full paths, no prefix: the router serves
both /codes/... and /stores/{id}/logo.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, File, Path, Query, UploadFile
from fastapi.responses import Response, StreamingResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.auth.deps import HumanKey, ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES
from hub.auth.service import Principal
from hub.codes import cards, qr
from hub.codes.batches import items as batch, service as batch_runs
from hub.codes.batches.items import Per
from hub.codes.models import BatchStatus, Code, CodeBatch
from hub.codes.qr import ErrorCorrection
from hub.codes.service import authorise
from hub.codes.slugs import qr_url
from hub.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, problems
from hub.regions.models import Region
from hub.schemas import DbId, OutTime
from hub.stores.models import Store, StoreLogo
from hub.stores.service import StoreNotFound
from hub.edge import APIRouter

router = APIRouter(tags=["codes"])

LOGO_MAX_BYTES = 256 * 1024
LOGO_MAX_SIDE = 2048
BATCH_ID_PATTERN = r"^[0-9a-f]{32}$"
CACHE = "private, max-age=300"


class PngResponse(Response):
    media_type = "image/png"


class SvgResponse(Response):
    media_type = "image/svg+xml"


class CodeNotFound(NotFound):
    title = "Code not found"


async def readable_code(code_id: Annotated[DbId, Path()], key: HumanKey) -> Code:
    code = await Code.get_or_none(id=code_id).select_related("store", "staff", "product")
    if code is None and key.role not in STORE_SCOPED_ROLES:
        raise CodeNotFound(f"No code {code_id}")
    if code is None:  # a scoped key cannot probe which ids exist
        raise Forbidden("This key may not read this code")
    authorise(key, store_id=code.store_id, staff_id=code.staff_id)
    return code


ReadableCode = Annotated[Code, Depends(readable_code)]


class QrParams(BaseModel):
    size: int = Field(qr.SIZE_DEFAULT, ge=qr.SIZE_MIN, le=qr.SIZE_MAX, description="Width and height in pixels")
    margin: int = Field(qr.MARGIN_DEFAULT, ge=qr.MARGIN_MIN, le=qr.MARGIN_MAX, description="Quiet zone in modules")
    ec: ErrorCorrection = Field(ErrorCorrection.M, description="Error correction; H is forced under a logo")
    logo: bool | None = Field(None, description="The store's logo in the middle (default: when it has one)")


async def _logo(code: Code, wanted: bool | None) -> Image.Image | None:
    found = await StoreLogo.filter(store_id=code.store_id).values_list("png", flat=True) if code.store_id else []
    png = found[0] if found else None
    if wanted and not png:
        raise InvalidInput.field("logo", "this code's store has no logo")
    return qr.load_logo(png) if wanted is not False else None


def _image(content: bytes, cls: type[Response], filename: str) -> Response:
    return cls(content, headers={"Cache-Control": CACHE, "Content-Disposition": f'inline; filename="{filename}"'})


def _card_text(code: Code) -> cards.CardText:
    return cards.card_text(
        store_name=code.store.name if code.store else "", staff_name=code.staff.name if code.staff else "",
        product_name=code.product.name if code.product else "",
        price_fen=code.product.price_fen if code.product else None,
    )


IMAGE_ERRORS = problems(401, 403, 404, 422)


@router.get("/codes/{code_id}/qr.png", summary="The code's QR image (PNG)", response_class=PngResponse,
            responses={200: {"content": {"image/png": {}}}, **IMAGE_ERRORS})
async def qr_png(code: ReadableCode, params: Annotated[QrParams, Depends()]) -> Response:
    image = await run_in_threadpool(qr.qr_png, qr_url(code.slug), size=params.size, margin=params.margin,
                                    ec=params.ec, logo=await _logo(code, params.logo))
    return _image(image, PngResponse, f"{code.slug}.png")


@router.get("/codes/{code_id}/qr.svg", summary="The code's QR image (SVG)", response_class=SvgResponse,
            responses={200: {"content": {"image/svg+xml": {}}}, **IMAGE_ERRORS})
async def qr_svg(code: ReadableCode, params: Annotated[QrParams, Depends()]) -> Response:
    image = await run_in_threadpool(qr.qr_svg, qr_url(code.slug), size=params.size, margin=params.margin,
                                    ec=params.ec, logo=await _logo(code, params.logo))
    return _image(image, SvgResponse, f"{code.slug}.svg")


LogoParam = Annotated[bool | None, Query(description="The store's logo in the code (default: when it has one)")]


@router.get("/codes/{code_id}/card.png", summary="A printable card: code, name, product and price (PNG, 300 dpi)",
            response_class=PngResponse, responses={200: {"content": {"image/png": {}}}, **IMAGE_ERRORS})
async def card_png(code: ReadableCode, logo: LogoParam = None) -> Response:
    image = await run_in_threadpool(cards.card_png, qr_url(code.slug), _card_text(code), logo=await _logo(code, logo))
    return _image(image, PngResponse, f"{code.slug}-card.png")


@router.get("/codes/{code_id}/card.svg", summary="A printable card (SVG; the printer's CJK font draws the text)",
            response_class=SvgResponse, responses={200: {"content": {"image/svg+xml": {}}}, **IMAGE_ERRORS})
async def card_svg(code: ReadableCode, logo: LogoParam = None) -> Response:
    image = await run_in_threadpool(cards.card_svg, qr_url(code.slug), _card_text(code), logo=await _logo(code, logo))
    return _image(image, SvgResponse, f"{code.slug}-card.svg")


# ------------------------------------------------------------------------------------------ store logo


class LogoOut(BaseModel):
    store_id: int
    bytes: int
    width: int
    height: int


def _checked_png(data: bytes) -> tuple[int, int]:
    """Width and height of a real, complete PNG of sane size, or a 422 naming ``file``."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise InvalidInput.field("file", f"must be a PNG, not {img.format}")
            width, height = img.size
            if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                raise InvalidInput.field("file", f"must be at most {LOGO_MAX_SIDE} × {LOGO_MAX_SIDE} pixels")
            img.load()  # decodes every pixel: a truncated or corrupt file fails here, not in a QR later
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise InvalidInput.field("file", "is not a readable PNG image") from None
    return width, height


@router.put("/stores/{store_id}/logo", summary="Set the store's logo (PNG, at most 256 KB), drawn in its QR codes",
            tags=["stores"], responses=problems(401, 403, 404, 413, 422))
async def put_logo(store_id: Annotated[DbId, Path()], key: ManagerKey,
                   file: Annotated[UploadFile, File(description="A PNG, square works best")]) -> LogoOut:
    key.require_store(store_id)  # before the lookup, so a scoped key cannot probe which ids exist
    data = await file.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise PayloadTooLarge(f"The logo may be at most {LOGO_MAX_BYTES // 1024} KB")
    width, height = _checked_png(data)
    if not await Store.exists(id=store_id):
        raise StoreNotFound(f"No store {store_id}")
    if not await StoreLogo.filter(store_id=store_id).update(png=data, updated_at=datetime.now(timezone.utc)):
        await StoreLogo.create(store_id=store_id, png=data)
    return LogoOut(store_id=store_id, bytes=len(data), width=width, height=height)


@router.delete("/stores/{store_id}/logo", status_code=204, summary="Remove the store's logo", tags=["stores"],
               responses=problems(401, 403, 404))
async def delete_logo(store_id: Annotated[DbId, Path()], key: ManagerKey) -> Response:
    key.require_store(store_id)
    if not await Store.exists(id=store_id):
        raise StoreNotFound(f"No store {store_id}")
    await StoreLogo.filter(store_id=store_id).delete()
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------ batches


class BatchIn(BaseModel):
    per: Per = Field(description="One code per staff member, per product (in each store) or per store")
    store_id: DbId | None = Field(None, description="Only this store")
    region_id: DbId | None = Field(None, description="Every store under this region (a city, county or grid)")
    province: bool = Field(False, description="Every store")


class BatchOut(BaseModel):
    id: str
    per: Per
    status: BatchStatus
    done: int
    total: int
    created: int
    reused: int
    skipped_inactive: int
    error: str
    created_at: OutTime
    finished_at: OutTime | None
    status_url: str
    download_url: str | None

    @classmethod
    def of(cls, row: CodeBatch) -> BatchOut:
        url = f"/api/v1/codes/batches/{row.id}"
        fields = {name: getattr(row, name) for name in cls.model_fields if hasattr(row, name)}
        download = url + "/download" if row.status == BatchStatus.DONE else None
        return cls(**fields, status_url=url, download_url=download)


# Coupons has a BatchIn and a BatchOut too, so OpenAPI names both pairs by their module's path. These keep the
# names the API was published with (hub__codes__images_api__BatchIn, …): clients generated from it keep theirs.
for _schema in (BatchIn, BatchOut):
    _schema.__module__ = "hub.codes.images_api"
    _schema.model_rebuild(force=True)


BatchId = Annotated[str, Path(pattern=BATCH_ID_PATTERN, description="The id the batch was started with")]
BATCH_ERRORS = problems(401, 403, 404, 422)


@router.post("/codes/batches", status_code=202, summary="Start generating a batch of codes with their images",
             responses=problems(401, 403, 422))
async def start_batch(body: BatchIn, key: ManagerKey) -> BatchOut:
    if (body.store_id is not None) + (body.region_id is not None) + body.province != 1:
        raise InvalidInput.field("store_id", "give exactly one of store_id, region_id or province")
    if body.store_id is not None:
        key.require_store(body.store_id)
        if not await Store.exists(id=body.store_id):
            raise InvalidInput.field("store_id", f"no store {body.store_id}")
    elif key.role in STORE_SCOPED_ROLES:
        raise Forbidden("A store manager's key may batch only its own store")
    elif body.region_id is not None and not await Region.exists(id=body.region_id):
        raise InvalidInput.field("region_id", f"no region {body.region_id}")
    total = await batch.count_codes(
        per=body.per, stores=await batch.scope_stores(store_id=body.store_id, region_id=body.region_id))
    row = await batch_runs.start(per=body.per, store_id=body.store_id, region_id=body.region_id,
                                 created_by_id=key.key_id, total=total)
    return BatchOut.of(row)


async def _readable_batch(key: Principal, batch_id: str) -> CodeBatch:
    row = await batch_runs.get_batch(batch_id)
    key.require_store(row.store_id)  # store managers: batches of their own store only
    return row


@router.get("/codes/batches/{batch_id}", summary="A batch's progress", responses=BATCH_ERRORS)
async def batch_status(batch_id: BatchId, key: ManagerKey) -> BatchOut:
    return BatchOut.of(await _readable_batch(key, batch_id))  # a read only: the outbox keeps the batch going


@router.get("/codes/batches/{batch_id}/download", summary="The finished batch: QR PNGs, card PNGs, manifest.csv",
            response_class=StreamingResponse, responses={200: {"content": {"application/zip": {}}},
                                                         **problems(401, 403, 404, 409, 422)})
async def batch_download(batch_id: BatchId, key: ManagerKey) -> StreamingResponse:
    row = await _readable_batch(key, batch_id)
    filename = f"codes-{row.per.value}-{batch_id}.zip"
    return StreamingResponse(await batch_runs.download(row), media_type="application/zip", headers={
        "Cache-Control": "private, no-store", "Content-Disposition": f'attachment; filename="{filename}"'})
