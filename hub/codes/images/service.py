"""Store logos, drawn in the middle of the store's codes: checked (a real, complete PNG of sane size),
stored, read back and removed."""

from __future__ import annotations

import io
from typing import cast

from PIL import Image, UnidentifiedImageError

from hub import clock
from hub.errors import InvalidInput
from hub.stores.models import Store, StoreLogo
from hub.stores.service import StoreNotFound

LOGO_MAX_BYTES = 256 * 1024
LOGO_MAX_SIDE = 2048


def checked_png(data: bytes) -> tuple[int, int]:
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


async def logo_png(*, store_id: int | None) -> bytes | None:
    """The store's logo as stored, or None (no store, or no logo)."""
    if not store_id:
        return None
    found = cast(list[bytes], await StoreLogo.filter(store_id=store_id).values_list("png", flat=True))
    return found[0] if found else None


async def set_logo(*, store_id: int, png: bytes) -> tuple[int, int]:
    """Check ``png`` and make it the store's logo; returns its width and height."""
    width, height = checked_png(png)
    if not await Store.exists(id=store_id):
        raise StoreNotFound(f"No store {store_id}")
    if not await StoreLogo.filter(store_id=store_id).update(png=png, updated_at=clock.now()):
        await StoreLogo.create(store_id=store_id, png=png)
    return width, height


async def delete_logo(*, store_id: int) -> None:
    if not await Store.exists(id=store_id):
        raise StoreNotFound(f"No store {store_id}")
    await StoreLogo.filter(store_id=store_id).delete()
