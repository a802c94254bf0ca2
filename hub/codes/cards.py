"""Printable cards: the QR code with the store's or staff member's name, the product and its price.

750 × 1050 pixels is a portrait 63.5 × 89 mm card at 300 dpi. Chinese text needs a CJK font: the first
of ``FONT_PATHS`` that exists, or only ``HUB_CARD_FONT`` when that is set; without one the card still
renders with Pillow's default font (Chinese then shows as boxes) and a warning is logged once.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from xml.etree import ElementTree as ET

from PIL import Image, ImageDraw, ImageFont

from hub.codes import qr

log = logging.getLogger("hub.codes.cards")

WIDTH, HEIGHT, DPI = 750, 1050, 300
QR_SIZE, QR_TOP = 600, 50
FONT_ENV = "HUB_CARD_FONT"
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian/Ubuntu fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora, Arch
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "C:/Windows/Fonts/msyh.ttc",  # Windows: Microsoft YaHei
)
SVG_FONTS = "'Noto Sans CJK SC', 'WenQuanYi Zen Hei', 'PingFang SC', 'Microsoft YaHei', sans-serif"
HINT = "扫一扫 了解更多"
_FONT_LOCK = threading.Lock()
INK, GREY, RED, EDGE = (17, 17, 17), (102, 102, 102), (200, 16, 46), (221, 221, 221)


@dataclass(frozen=True)
class CardText:
    title: str  # the staff member's or the store's name
    subtitle: str = ""  # the store, under a staff member's name
    product: str = ""
    price_fen: int | None = None


def format_price(fen: int) -> str:
    """Integer fen as shown in China: 12900 → ¥129.00 (integer arithmetic, no float rounding)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def card_text(*, store_name: str = "", staff_name: str = "", product_name: str = "",
              price_fen: int | None = None) -> CardText:
    """What a code's card says: the person first when there is one, then the store, then the product."""
    if staff_name:
        return CardText(staff_name, store_name, product_name, price_fen if product_name else None)
    return CardText(store_name, "", product_name, price_fen if product_name else None)


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The CJK font to draw with, found once per process (None: Pillow's default font)."""
    from hub.settings import load_settings

    chosen = load_settings().card_font  # read afresh: the setting may come from the environment or .env
    candidates = (chosen,) if chosen else FONT_PATHS
    for path in candidates:
        if path and os.path.isfile(path):
            try:
                ImageFont.truetype(path, 12)
                return path
            except OSError:
                log.warning("card font %s cannot be read", path)
    log.warning("no CJK font found (%s): cards fall back to the default font and Chinese shows as boxes; "
                "install fonts-wqy-zenhei or set %s", ", ".join(p for p in candidates if p), FONT_ENV)
    return None


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path()
    if path is None:
        return ImageFont.load_default(size=size)
    # A collection holds several faces: prefer the Simplified Chinese one (Noto's first face is Japanese).
    for index in range(8):
        try:
            face = ImageFont.truetype(path, size, index=index)
        except OSError:
            break
        if " SC" in (face.getname()[0] or ""):  # a face may have no family name
            return face
    return ImageFont.truetype(path, size, index=0)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int,
         width: int) -> tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """Shrink the font down to two thirds, then cut the text with an ellipsis, until it fits ``width``."""
    smallest = size * 2 // 3
    while size > smallest and draw.textlength(text, font=_font(size)) > width:
        size -= 2
    font = _font(size)
    if draw.textlength(text, font=font) > width:
        while text and draw.textlength(text + "…", font=font) > width:
            text = text[:-1]
        text += "…"
    return text, font


def _lines(text: CardText) -> list[tuple[str, int, tuple[int, int, int]]]:
    """(text, font size, colour) of each line under the code, top to bottom; empty lines left out."""
    lines = [(text.title, 50, INK), (text.subtitle, 32, GREY), (text.product, 36, INK)]
    if text.price_fen is not None:
        lines.append((format_price(text.price_fen), 48, RED))
    return [line for line in lines if line[0]]


def _baselines(lines: list) -> list[int]:
    """Each line's baseline (y), the block centred in the space between the code and the hint."""
    top, bottom = QR_TOP + QR_SIZE + 10, HEIGHT - 80
    heights = [int(size * 1.45) for _, size, _ in lines]
    y = top + max(0, (bottom - top - sum(heights)) // 2)
    baselines = []
    for height, (_, size, _) in zip(heights, lines, strict=True):
        baselines.append(y + int(size * 1.1))
        y += height
    return baselines


def card_png(qr_data: str, text: CardText, *, logo: Image.Image | None = None) -> bytes:
    """The card as PNG (300 dpi)."""
    card = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, WIDTH - 1, HEIGHT - 1), outline=EDGE, width=2)  # a cutting guide
    card.paste(qr.qr_image(qr_data, size=QR_SIZE, margin=2, logo=logo).convert("RGB"), ((WIDTH - QR_SIZE) // 2, QR_TOP))
    lines = _lines(text)
    with _FONT_LOCK:  # cards are drawn in worker threads, and a FreeType face is one thread's at a time
        for (line, size, colour), baseline in zip(lines, _baselines(lines), strict=True):
            fitted, font = _fit(draw, line, size, WIDTH - 80)
            draw.text((WIDTH // 2, baseline), fitted, font=font, fill=colour, anchor="ms")
        hint, font = _fit(draw, HINT, 26, WIDTH - 80)
        draw.text((WIDTH // 2, HEIGHT - 40), hint, font=font, fill=GREY, anchor="ms")
    out = io.BytesIO()
    card.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def card_svg(qr_data: str, text: CardText, *, logo: Image.Image | None = None) -> bytes:
    """The card as SVG: the code as vector paths, the text as text (the printer's fonts draw it)."""
    root = ET.Element("svg", xmlns=qr.SVG_NS, version="1.1", width=str(WIDTH), height=str(HEIGHT),
                      viewBox=f"0 0 {WIDTH} {HEIGHT}")
    ET.SubElement(root, "rect", {"x": "1", "y": "1", "width": str(WIDTH - 2), "height": str(HEIGHT - 2),
                                 "fill": "white", "stroke": "#dddddd", "stroke-width": "2"})
    code = qr.qr_svg_element(qr_data, size=QR_SIZE, margin=2, logo=logo)
    code.set("x", str((WIDTH - QR_SIZE) // 2))
    code.set("y", str(QR_TOP))
    code.attrib.pop("xmlns", None)  # nested: the outer element declares the namespace
    root.append(code)
    lines = _lines(text) + [(HINT, 26, GREY)]
    baselines = _baselines(lines[:-1]) + [HEIGHT - 40]
    for (line, size, colour), baseline in zip(lines, baselines, strict=True):
        attrs = {"x": str(WIDTH // 2), "y": str(baseline), "fill": "#{:02x}{:02x}{:02x}".format(*colour),
                 "font-size": str(size), "font-family": SVG_FONTS, "text-anchor": "middle"}
        if len(line) * size > WIDTH - 80:  # CJK glyphs are about one em wide: squeeze a long line to fit
            attrs |= {"textLength": str(WIDTH - 80), "lengthAdjust": "spacingAndGlyphs"}
        ET.SubElement(root, "text", attrs).text = line
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)
