"""Rendering 1,000 QR PNGs through hub.codes.qr against the bare ``qrcode`` library making the same PNGs.

Both sides draw the same code (version, level M, 4-module margin, whole-pixel modules of the same size)
and encode it as PNG; the hub also centres it on an exact 512-pixel canvas and checks its bounds. The
ratio is what that costs; a batch of 1,000 staff cards renders 1,000 of these (plus the cards).
No HTTP: both run in the benchmark's own process, one after the other (``Bench.time_both``).
"""

from __future__ import annotations

import io
import random
import string

import qrcode
from PIL import Image, ImageChops
from qrcode.image.pil import PilImage

from bench.cases import case
from bench.harness import Bench, BenchError, Figure

COUNT = 1000
SIZE, MARGIN = 512, 4


def _urls(base_url: str) -> list[str]:
    """1,000 fixed slugs in the shape of real ones (10 base62 characters), so every run draws the same codes."""
    rng = random.Random(20261123)
    alphabet = string.ascii_letters + string.digits
    return [f"{base_url}/c/{''.join(rng.choice(alphabet) for _ in range(10))}?src=qr" for _ in range(COUNT)]


def _bare(url: str) -> Image.Image:
    qr = qrcode.QRCode(version=None, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=MARGIN)
    qr.add_data(url)
    qr.make(fit=True)
    qr.box_size = SIZE // (qr.modules_count + 2 * MARGIN)  # the module size the hub picks for 512 pixels
    return qr.make_image(image_factory=PilImage).get_image()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@case("qr-render", "Rendering 1,000 QR PNGs")
def qr_render(bench: Bench) -> list[Figure]:
    from hub.codes import qr as hub_qr

    urls = _urls(bench.hub.base_url)
    hub_image = Image.open(io.BytesIO(hub_qr.qr_png(urls[0], size=SIZE, margin=MARGIN)))
    bare = _bare(urls[0])
    padded = Image.new("1", (SIZE, SIZE), 1)
    padded.paste(bare, ((SIZE - bare.width) // 2, (SIZE - bare.height) // 2))
    if hub_image.size != (SIZE, SIZE) or ImageChops.difference(hub_image.convert("L"), padded.convert("L")).getbbox():
        raise BenchError("hub.codes.qr and the bare qrcode library do not draw the same code: nothing to compare")

    sizes: dict[str, int] = {}

    def hub_side() -> None:
        sizes["hub"] = sum(len(hub_qr.qr_png(url, size=SIZE, margin=MARGIN)) for url in urls)

    def bare_side() -> None:
        sizes["baseline"] = sum(len(_png(_bare(url))) for url in urls)

    figure = bench.time_both(label=f"{COUNT:,} QR PNGs, {SIZE} px, level M (ms)", hub=hub_side, baseline=bare_side)
    bench.note(
        f"QR rendering: {COUNT:,} codes of {len(urls[0])}-character URLs (version {bare_version(urls[0])}), "
        f"{figure.hub / COUNT:.1f} ms per PNG through hub.codes.qr, {figure.baseline / COUNT:.1f} ms with bare qrcode "
        f"+ Pillow; {sizes['hub'] / COUNT:,.0f} vs {sizes['baseline'] / COUNT:,.0f} bytes per PNG; "
        "in the bench process."
    )
    return [figure]


def bare_version(url: str) -> int:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.version
