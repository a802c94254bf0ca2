"""QR images of codes, as PNG (Pillow) and SVG (one path), drawn by the ``qrcode`` library.

The same inputs always give the same bytes, so images can be cached and batches compared. With a
store logo in the middle the error correction is forced to H (30 % of the modules may be lost) and
the logo, on a white pad, covers at most ``LOGO_SHARE`` of the code's width (about 5 % of its area).
"""

from __future__ import annotations

import base64
import io
import logging
from enum import StrEnum
from xml.etree import ElementTree as ET

import qrcode
from PIL import Image, UnidentifiedImageError
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

from hub.errors import InvalidInput

log = logging.getLogger("hub.codes.qr")

SIZE_MIN, SIZE_MAX, SIZE_DEFAULT = 128, 2048, 512
MARGIN_MIN, MARGIN_MAX, MARGIN_DEFAULT = 0, 16, 4  # quiet zone in modules; scanners want 4
LOGO_SHARE = 0.22
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("xlink", XLINK_NS)


class ErrorCorrection(StrEnum):
    L = "L"  # ~7 % of the modules may be damaged
    M = "M"  # ~15 %
    Q = "Q"  # ~25 %
    H = "H"  # ~30 %: needed under a logo


_LEVELS = {
    ErrorCorrection.L: qrcode.constants.ERROR_CORRECT_L,
    ErrorCorrection.M: qrcode.constants.ERROR_CORRECT_M,
    ErrorCorrection.Q: qrcode.constants.ERROR_CORRECT_Q,
    ErrorCorrection.H: qrcode.constants.ERROR_CORRECT_H,
}


def _check(size: int, margin: int) -> None:
    # The API bounds these already; callers in jobs and the CLI get the same 422-style error.
    if not SIZE_MIN <= size <= SIZE_MAX:
        raise InvalidInput.field("size", f"must be {SIZE_MIN} to {SIZE_MAX} pixels")
    if not MARGIN_MIN <= margin <= MARGIN_MAX:
        raise InvalidInput.field("margin", f"must be {MARGIN_MIN} to {MARGIN_MAX} modules")


def _code(data: str, *, margin: int, ec: ErrorCorrection, box_size: int = 1) -> qrcode.QRCode:
    qr = qrcode.QRCode(version=None, error_correction=_LEVELS[ec], box_size=box_size, border=margin)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def load_logo(png: bytes | None) -> Image.Image | None:
    """The stored logo as RGBA, or None when absent or unreadable (logged: a bad logo never breaks a code)."""
    if not png:
        return None
    try:
        with Image.open(io.BytesIO(png)) as img:
            return img.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        log.warning("store logo is not a readable image, drawing the code without it: %r", exc)
        return None


def _logo_tile(logo: Image.Image, side: int) -> Image.Image:
    """The logo scaled into a white square of ``side`` pixels (a thin white ring keeps modules apart)."""
    pad = Image.new("RGB", (side, side), "white")
    inner = max(1, side - 2 * max(2, side // 12))
    scaled = logo.copy()
    scaled.thumbnail((inner, inner), Image.Resampling.LANCZOS)
    pad.paste(scaled, ((side - scaled.width) // 2, (side - scaled.height) // 2), scaled)
    return pad


def qr_image(
    data: str, *, size: int = SIZE_DEFAULT, margin: int = MARGIN_DEFAULT,
    ec: ErrorCorrection = ErrorCorrection.M, logo: Image.Image | None = None,
) -> Image.Image:
    """A square image of exactly ``size`` pixels: whole-pixel modules, centred, white around them."""
    _check(size, margin)
    if logo is not None:
        ec = ErrorCorrection.H
    qr = _code(data, margin=margin, ec=ec)
    box = max(1, size // (qr.modules_count + 2 * margin))
    qr.box_size = box
    drawn = qr.make_image(image_factory=PilImage).get_image()  # mode "1", black on white
    if drawn.width > size:  # a very long text at a tiny size: one pixel per module is already too big
        raise InvalidInput.field("size", f"this code needs at least {drawn.width} pixels")
    mode = "RGB" if logo is not None else "1"
    canvas = Image.new(mode, (size, size), "white")
    offset = (size - drawn.width) // 2
    canvas.paste(drawn.convert(mode), (offset, offset))
    if logo is not None:
        side = int(qr.modules_count * box * LOGO_SHARE)
        tile = _logo_tile(logo, side)
        canvas.paste(tile, ((size - side) // 2, (size - side) // 2))
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def qr_png(data: str, *, size: int = SIZE_DEFAULT, margin: int = MARGIN_DEFAULT,
           ec: ErrorCorrection = ErrorCorrection.M, logo: Image.Image | None = None) -> bytes:
    return png_bytes(qr_image(data, size=size, margin=margin, ec=ec, logo=logo))


def qr_svg_element(
    data: str, *, size: int = SIZE_DEFAULT, margin: int = MARGIN_DEFAULT,
    ec: ErrorCorrection = ErrorCorrection.M, logo: Image.Image | None = None,
) -> ET.Element:
    """The <svg> element: viewBox in modules (one unit per module), drawn ``size`` pixels wide."""
    _check(size, margin)
    if logo is not None:
        ec = ErrorCorrection.H
    qr = _code(data, margin=margin, ec=ec, box_size=10)  # the library's 10 px = 1 unit: coordinates in modules
    svg = qr.make_image(image_factory=SvgPathFillImage).get_image()
    svg.set("width", str(size))
    svg.set("height", str(size))
    svg.set("shape-rendering", "crispEdges")  # no anti-aliased seams between neighbouring modules
    if logo is not None:
        modules = qr.modules_count
        side = modules * LOGO_SHARE
        at = margin + (modules - side) / 2
        # A raster tile at the resolution the logo will be seen at in a size-pixel drawing.
        pixels = max(16, round(side * size / (modules + 2 * margin)))
        encoded = base64.b64encode(png_bytes(_logo_tile(logo, pixels))).decode()
        # xlink:href rather than SVG 2's href: older print and layout tools read only the former.
        box = {"x": f"{at:.3f}", "y": f"{at:.3f}", "width": f"{side:.3f}", "height": f"{side:.3f}"}
        ET.SubElement(svg, "image", {**box, f"{{{XLINK_NS}}}href": f"data:image/png;base64,{encoded}"})
    return svg


def qr_svg(data: str, *, size: int = SIZE_DEFAULT, margin: int = MARGIN_DEFAULT,
           ec: ErrorCorrection = ErrorCorrection.M, logo: Image.Image | None = None) -> bytes:
    element = qr_svg_element(data, size=size, margin=margin, ec=ec, logo=logo)
    return ET.tostring(element, encoding="UTF-8", xml_declaration=True)
