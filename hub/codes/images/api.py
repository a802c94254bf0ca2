"""QR images and printable cards of codes, and the store logos drawn in them.

Images are for logged-in people only (an open renderer gets abused), with the code's own read rule:
staff see their own codes, store managers their store's, ops and admin all. Drawing takes 10-40 ms of
CPU, so it runs in the thread pool, not on the event loop. Full paths, no prefix: the router serves
both /codes/... and /stores/{id}/logo.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Path, Query, UploadFile
from fastapi.responses import Response
from PIL import Image
from starlette.concurrency import run_in_threadpool

from hub.auth.deps import HumanKey, ManagerKey
from hub.auth.models import STORE_SCOPED_ROLES
from hub.codes import cards, qr
from hub.codes.images import service as images
from hub.codes.images.schemas import LogoOut, QrParams
from hub.codes.models import Code
from hub.codes.service import authorise
from hub.codes.slugs import qr_url
from hub.edge import APIRouter
from hub.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge, problems
from hub.schemas import DbId

router = APIRouter(tags=["codes"])

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


async def _logo(code: Code, wanted: bool | None) -> Image.Image | None:
    png = await images.logo_png(store_id=code.store_id)
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


@router.put("/stores/{store_id}/logo", summary="Set the store's logo (PNG, at most 256 KB), drawn in its QR codes",
            tags=["stores"], responses=problems(401, 403, 404, 413, 422))
async def put_logo(store_id: Annotated[DbId, Path()], key: ManagerKey,
                   file: Annotated[UploadFile, File(description="A PNG, square works best")]) -> LogoOut:
    key.require_store(store_id)  # before the lookup, so a scoped key cannot probe which ids exist
    data = await file.read(images.LOGO_MAX_BYTES + 1)
    if len(data) > images.LOGO_MAX_BYTES:
        raise PayloadTooLarge(f"The logo may be at most {images.LOGO_MAX_BYTES // 1024} KB")
    width, height = await images.set_logo(store_id=store_id, png=data)
    return LogoOut(store_id=store_id, bytes=len(data), width=width, height=height)


@router.delete("/stores/{store_id}/logo", status_code=204, summary="Remove the store's logo", tags=["stores"],
               responses=problems(401, 403, 404))
async def delete_logo(store_id: Annotated[DbId, Path()], key: ManagerKey) -> Response:
    key.require_store(store_id)
    await images.delete_logo(store_id=store_id)
    return Response(status_code=204)
