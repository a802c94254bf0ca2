"""What the image routes take and answer: the QR drawing's options, and a stored logo's size."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hub.codes import qr
from hub.codes.qr import ErrorCorrection


class QrParams(BaseModel):
    size: int = Field(qr.SIZE_DEFAULT, ge=qr.SIZE_MIN, le=qr.SIZE_MAX, description="Width and height in pixels")
    margin: int = Field(qr.MARGIN_DEFAULT, ge=qr.MARGIN_MIN, le=qr.MARGIN_MAX, description="Quiet zone in modules")
    ec: ErrorCorrection = Field(ErrorCorrection.M, description="Error correction; H is forced under a logo")
    logo: bool | None = Field(None, description="The store's logo in the middle (default: when it has one)")


class LogoOut(BaseModel):
    store_id: int
    bytes: int
    width: int
    height: int
