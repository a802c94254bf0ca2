"""Code 128 barcodes as SVG, for the coupon page: many store tills read 1-D barcodes only, not QR codes.

Subset B only: it covers printable ASCII, so every coupon code (Crockford base 32) fits, and subset C's
digit pairs would shorten nothing worth the switching. A symbol is a start character, one character per
letter, the mod 103 check character and the stop pattern, with a quiet zone of ten modules either side.
The drawing is in modules (one SVG unit each): the page scales it, and scanners care only for ratios.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

# Bar and space widths (in modules) of the 107 Code 128 symbols, value 0 to 106: bar, space, bar, ...
# Each of 0 to 105 spans 11 modules; 106 is the stop pattern, 13 modules with its final bar.
PATTERNS = (
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
    "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
    "221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
    "212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
    "231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
    "231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
    "314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
    "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
    "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
)
START_B = 104
STOP = 106
QUIET = 10  # modules of white either side; the standard asks for at least ten
MAX_LENGTH = 80  # far more than a coupon code; keeps a drawing from growing without bound


def values(text: str) -> list[int]:
    """The symbol values of ``text`` in subset B, framed by the start, check and stop symbols."""
    if not text or len(text) > MAX_LENGTH:
        raise ValueError(f"a Code 128 text must be 1 to {MAX_LENGTH} characters")
    data = []
    for char in text:
        code = ord(char)
        if not 32 <= code <= 127:
            raise ValueError(f"{char!r} is not in Code 128 subset B (printable ASCII)")
        data.append(code - 32)
    check = (START_B + sum(position * value for position, value in enumerate(data, start=1))) % 103
    return [START_B, *data, check, STOP]


def widths(text: str) -> list[int]:
    """Alternating bar and space widths in modules, starting and ending with a bar (no quiet zones)."""
    return [int(w) for value in values(text) for w in PATTERNS[value]]


def bars(text: str) -> list[tuple[int, int]]:
    """(x, width) of each bar in modules, the first one after the left quiet zone."""
    out = []
    x = QUIET
    for index, width in enumerate(widths(text)):
        if index % 2 == 0:
            out.append((x, width))
        x += width
    return out


def total_modules(text: str) -> int:
    return sum(widths(text)) + 2 * QUIET


def barcode_svg(text: str, *, height: int = 50, label: str | None = None) -> str:
    """An ``<svg>`` element (no XML declaration, ready to inline in HTML) of ``text`` as Code 128 B,
    ``height`` modules tall, white behind, black bars as one path. The page sets its display size."""
    width = total_modules(text)
    path = "".join(f"M{x} 0h{w}v{height}h-{w}z" for x, w in bars(text))
    title = label if label is not None else text
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" role="img" aria-label={quoteattr(title)}>'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )
