"""The Code 128 drawing is checked by reading it back: the SVG's bars are rasterised and decoded by ZXing."""

import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from coupons.codes import new_code
from storefront.barcode import PATTERNS, QUIET, barcode_svg, values

BAR = re.compile(r"M(\d+) 0h(\d+)v")


def rasterise(svg: str, *, scale: int = 3, height: int = 60) -> Image.Image:
    """Draw the bars of one of our barcode SVGs (its path, as the browser would) into a greyscale image."""
    width = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    image = Image.new("L", (width * scale, height), 255)
    draw = ImageDraw.Draw(image)
    for x, w in BAR.findall(svg):
        draw.rectangle([int(x) * scale, 0, (int(x) + int(w)) * scale - 1, height - 1], fill=0)
    return image


def decode(svg: str) -> tuple[str, str] | None:
    found = zxingcpp.read_barcodes(rasterise(svg))
    return (found[0].text, found[0].format.name) if found else None


def test_the_symbol_table_is_the_standard_one():
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    assert all(sum(map(int, p)) == 11 and len(p) == 6 for p in PATTERNS[:106])
    assert PATTERNS[106] == "2331112"
    assert (PATTERNS[103], PATTERNS[104], PATTERNS[105]) == ("211412", "211214", "211232")  # starts A, B, C


def test_check_symbol_is_mod_103_of_weighted_values():
    # 104 + 1*48 + 2*42 + 3*42 + 4*17 + 5*18 + 6*19 + 7*35 = 879 = 8*103 + 55
    assert values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55, 106]


def test_200_random_coupon_codes_decode_back_to_themselves():
    for _ in range(200):
        code = new_code()
        assert decode(barcode_svg(code)) == (code, "Code128")


def test_quiet_zones_and_the_stop_bar_frame_the_symbol():
    svg = barcode_svg("ABC")
    bars = [(int(x), int(w)) for x, w in BAR.findall(svg)]
    width = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    assert bars[0][0] == QUIET
    assert width - (bars[-1][0] + bars[-1][1]) == QUIET
    assert bars[-1][1] == 2  # the stop pattern ends on its two-module bar
    assert width == 11 * (1 + 3 + 1) + 13 + 2 * QUIET


def test_the_label_is_escaped():
    assert "aria-label='a&lt;b\"c'" in barcode_svg('a<b"c')


@pytest.mark.parametrize("text", ["", "券", "x" * 81, "tab\t"])
def test_text_outside_subset_b_is_refused(text):
    with pytest.raises(ValueError):
        barcode_svg(text)
