"""QR images, printable cards and store logos: decoded back with zxing-cpp, pixels and XML checked."""

import io
import logging
import os
import re
from xml.etree import ElementTree as ET

import pytest
import zxingcpp
from PIL import Image, ImageChops

from hub.auth.models import Role
from hub.codes import cards, qr
from hub.codes.models import CodeKind
from hub.codes.slugs import qr_url
from hub.errors import InvalidInput
from hub.stores.models import StoreLogo
from tests.factories import make_code, make_key, make_product, make_staff, make_store

SVG = "{http://www.w3.org/2000/svg}"
IN_CI = os.environ.get("CI", "").lower() == "true"


def image(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def decoded(data: bytes | Image.Image) -> list[tuple[str, str]]:
    """(text, error-correction level) of every QR code zxing-cpp finds."""
    img = data if isinstance(data, Image.Image) else image(data)
    return [(r.text, r.ec_level) for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def logo_png(size=(120, 120), colour=(220, 20, 60, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG")
    return out.getvalue()


def svg_modules(svg: bytes) -> tuple[int, set[tuple[int, int]], ET.Element]:
    """The dark modules (x, y) of a QR SVG drawn by qr.py: one ``M x,y H.. V.. H.. z`` square each."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox").split()[2])
    path = root.find(f"{SVG}path").get("d")
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z", path)
    assert "".join(f"M{x},{y}H{a}V{b}H{c}z" for x, y, a, b, c in squares) == path  # nothing else in it
    assert all(int(a) == int(x) + 1 and int(b) == int(y) + 1 for x, y, a, b, _ in squares)
    return size, {(int(x), int(y)) for x, y, *_ in squares}, root


def png_modules(png: bytes, modules: int) -> set[tuple[int, int]]:
    """The dark modules of a QR PNG made by qr.py, sampled at each module's centre."""
    img = image(png).convert("L")
    box = img.width // modules
    offset = (img.width - modules * box) // 2
    return {(x, y) for y in range(modules) for x in range(modules)
            if img.getpixel((offset + x * box + box // 2, offset + y * box + box // 2)) < 128}


def rasterise(modules: int, dark: set[tuple[int, int]], box: int = 8) -> Image.Image:
    img = Image.new("L", (modules * box, modules * box), 255)
    for x, y in dark:
        img.paste(0, (x * box, y * box, (x + 1) * box, (y + 1) * box))
    return img


async def own_code(**fields):
    staff = await make_staff()
    code = await make_code(staff=staff, **fields)
    return code, staff, await make_key(role=Role.STAFF, staff=staff)


class TestQrPng:
    async def test_png_decodes_to_the_codes_qr_url_at_the_asked_size(self, client):
        code, _, key = await own_code()
        response = await client.get(f"/api/v1/codes/{code.id}/qr.png?size=300&margin=2&ec=Q", headers=key)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"].startswith("private")
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert image(response.content).size == (300, 300)
        assert decoded(response.content) == [(qr_url(code.slug), "Q")]
        assert qr_url(code.slug) == f"http://hub.test/c/{code.slug}?src=qr"

    async def test_defaults_are_512_pixels_level_m_and_the_bytes_repeat(self, client):
        code, _, key = await own_code()
        first = await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=key)
        second = await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=key)
        assert image(first.content).size == (512, 512)
        assert decoded(first.content) == [(qr_url(code.slug), "M")]
        assert first.content == second.content  # deterministic
        assert qr.qr_png(qr_url(code.slug)) == first.content

    async def test_a_text_too_long_for_the_size_is_refused_not_cropped(self):
        with pytest.raises(InvalidInput) as refused:
            qr.qr_png("http://hub.test/" + "x" * 1500, size=128, margin=16)
        assert refused.value.errors[0].field == "size"

    async def test_every_bound_of_size_and_margin_still_decodes(self):
        for size, margin in ((128, 0), (128, 16), (2048, 4), (2048, 16)):
            png = qr.qr_png("http://hub.test/c/AbCdEf1234?src=qr", size=size, margin=margin)
            assert image(png).size == (size, size)
            assert decoded(png) == [("http://hub.test/c/AbCdEf1234?src=qr", "M")], (size, margin)

    async def test_out_of_bounds_parameters_are_422(self, client):
        code, _, key = await own_code()
        for query, field in (("size=127", "size"), ("size=2049", "size"), ("size=big", "size"), ("margin=-1", "margin"),
                             ("margin=17", "margin"), ("ec=X", "ec"), ("ec=h", "ec"), ("logo=maybe", "logo")):
            for fmt in ("png", "svg"):
                response = await client.get(f"/api/v1/codes/{code.id}/qr.{fmt}?{query}", headers=key)
                assert response.status_code == 422, (query, response.text)
                assert [e["field"].split(".")[-1] for e in response.json()["errors"]] == [field]
        assert (await client.get("/api/v1/codes/0/qr.png", headers=key)).status_code == 422
        assert (await client.get("/api/v1/codes/99999999999/qr.png", headers=key)).status_code == 422


class TestLogoInTheCode:
    async def test_with_the_stores_logo_the_code_is_level_h_and_still_decodes(self, client):
        store = await make_store()
        await StoreLogo.create(store_id=store.id, png=logo_png())
        code = await make_code(kind=CodeKind.STORE, store=store)
        ops = await make_key(role=Role.OPS)
        with_logo = await client.get(f"/api/v1/codes/{code.id}/qr.png?ec=L", headers=ops)
        assert decoded(with_logo.content) == [(qr_url(code.slug), "H")]  # forced to H under the logo
        centre = image(with_logo.content).convert("RGB").getpixel((256, 256))
        assert centre == (220, 20, 60)  # the logo's colour in the middle
        img = image(with_logo.content)
        red = dict((colour, n) for n, colour in img.convert("RGB").getcolors(512 * 512))[(220, 20, 60)]
        assert red < (0.22 * 512) ** 2  # at most about 22 % of the width on each side
        without = await client.get(f"/api/v1/codes/{code.id}/qr.png?logo=false&ec=L", headers=ops)
        assert decoded(without.content) == [(qr_url(code.slug), "L")]

    async def test_asking_for_a_logo_the_store_lacks_is_422(self, client):
        code, _, key = await own_code()
        response = await client.get(f"/api/v1/codes/{code.id}/qr.png?logo=true", headers=key)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "logo"
        assert decoded((await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=key)).content)[0][1] == "M"


class TestQrSvg:
    async def test_svg_is_xml_whose_modules_are_the_pngs_and_decodes(self, client):
        code, _, key = await own_code()
        response = await client.get(f"/api/v1/codes/{code.id}/qr.svg?size=400&margin=3&ec=H", headers=key)
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        size, dark, root = svg_modules(response.content)
        assert root.tag == f"{SVG}svg" and (root.get("width"), root.get("height")) == ("400", "400")
        assert all(3 <= x < size - 3 and 3 <= y < size - 3 for x, y in dark)  # the margin is empty
        png = await client.get(f"/api/v1/codes/{code.id}/qr.png?size=400&margin=3&ec=H", headers=key)
        assert png_modules(png.content, size) == dark
        assert decoded(rasterise(size, dark)) == [(qr_url(code.slug), "H")]

    async def test_svg_with_logo_embeds_it_as_png_over_a_level_h_code(self):
        logo = qr.load_logo(logo_png())
        svg = qr.qr_svg("http://hub.test/c/AbCdEf1234?src=qr", logo=logo)
        size, dark, root = svg_modules(svg)
        embedded = root.find(f"{SVG}image")
        data = embedded.get("{http://www.w3.org/1999/xlink}href").removeprefix("data:image/png;base64,")
        import base64

        tile = image(base64.b64decode(data))
        assert tile.format == "PNG"
        assert tile.convert("RGB").getpixel((tile.width // 2, tile.height // 2)) == (220, 20, 60)
        assert float(embedded.get("width")) <= 0.22 * (size - 8) + 0.001
        assert decoded(rasterise(size, dark)) == [("http://hub.test/c/AbCdEf1234?src=qr", "H")]
        assert svg == qr.qr_svg("http://hub.test/c/AbCdEf1234?src=qr", logo=logo)


class TestWhoMaySeeImages:
    async def test_staff_see_only_their_own_codes(self, client):
        code, staff, key = await own_code()
        colleague_code = await make_code(staff=await make_staff(store=await staff.store))
        for path in ("qr.png", "qr.svg", "card.png", "card.svg"):
            assert (await client.get(f"/api/v1/codes/{code.id}/{path}", headers=key)).status_code == 200
            response = await client.get(f"/api/v1/codes/{colleague_code.id}/{path}", headers=key)
            assert response.status_code == 403 and response.json()["type"] == "/problems/forbidden", path

    async def test_store_managers_see_their_stores_codes_only(self, client):
        code, staff, _ = await own_code()
        other = await make_code()
        manager = await make_key(role=Role.STORE_MANAGER, store=await staff.store)
        assert (await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=manager)).status_code == 200
        assert (await client.get(f"/api/v1/codes/{other.id}/qr.png", headers=manager)).status_code == 403
        assert (await client.get("/api/v1/codes/999999/qr.png", headers=manager)).status_code == 403  # no probing

    async def test_ops_and_admin_see_all_other_roles_and_no_key_do_not(self, client):
        code = await make_code()
        for role in (Role.OPS, Role.ADMIN):
            headers = await make_key(role=role)
            assert (await client.get(f"/api/v1/codes/{code.id}/card.png", headers=headers)).status_code == 200
            assert (await client.get("/api/v1/codes/999999/qr.png", headers=headers)).status_code == 404
        for role in (Role.POS, Role.CARRIER_APP, Role.STRATEGY_ENGINE):
            headers = await make_key(role=role)
            assert (await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=headers)).status_code == 403
        assert (await client.get(f"/api/v1/codes/{code.id}/qr.png")).status_code == 401


def require_cjk_font() -> None:
    if cards.font_path() is None:
        if IN_CI:
            pytest.fail("no CJK font: .ci/run installs fonts-wqy-zenhei")
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-zenhei); under CI it fails above")


class TestCards:
    async def test_card_png_shows_the_code_names_and_price_under_it(self, client):
        require_cjk_font()
        store = await make_store(name="天河营业厅")
        staff = await make_staff(store=store, name="张三")
        product = await make_product(price_fen=12900)
        code = await make_code(kind=CodeKind.PRODUCT, staff=staff, product=product)
        response = await client.get(f"/api/v1/codes/{code.id}/card.png", headers=await make_key(role=Role.OPS))
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        card = image(response.content)
        assert card.format == "PNG" and card.size == (cards.WIDTH, cards.HEIGHT) == (750, 1050)
        assert round(card.info["dpi"][0]) == 300
        assert decoded(card) == [(qr_url(code.slug), "M")]
        empty = image(cards.card_png(qr_url(code.slug), cards.CardText("")))
        diff = ImageChops.difference(card.convert("L"), empty.convert("L"))
        box = diff.getbbox()
        assert box is not None and box[1] > cards.QR_TOP + cards.QR_SIZE  # only the text below the code differs
        assert sum(diff.histogram()[65:]) > 2000  # four lines of text, not a stray pixel

    async def test_chinese_glyphs_are_drawn_not_boxes(self):
        require_cjk_font()
        url = "http://hub.test/c/AbCdEf1234?src=qr"
        one = image(cards.card_png(url, cards.CardText("张三")))
        other = image(cards.card_png(url, cards.CardText("李四")))
        # With a font lacking CJK both names would be the same two "missing glyph" boxes.
        assert ImageChops.difference(one.convert("L"), other.convert("L")).getbbox() is not None

    async def test_card_svg_carries_the_texts_and_the_code(self, client):
        store = await make_store(name="越秀<旗舰>店")
        product = await make_product(price_fen=5)
        code = await make_code(kind=CodeKind.PRODUCT, store=store, product=product)
        response = await client.get(f"/api/v1/codes/{code.id}/card.svg", headers=await make_key(role=Role.OPS))
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        root = ET.fromstring(response.content)
        assert (root.get("width"), root.get("height")) == ("750", "1050")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert texts == ["越秀<旗舰>店", product.name, "¥0.05", cards.HINT]
        nested = root.find(f"{SVG}svg")
        size = int(nested.get("viewBox").split()[2])
        dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", nested.find(f"{SVG}path").get("d"))}
        assert decoded(rasterise(size, dark)) == [(qr_url(code.slug), "M")]

    def test_prices_are_yuan_with_two_decimals_from_integer_fen(self):
        assert [cards.format_price(f) for f in (12900, 5, 0, 100, 999999999)] == [
            "¥129.00", "¥0.05", "¥0.00", "¥1.00", "¥9999999.99"]

    def test_what_each_kind_of_card_says(self):
        assert cards.card_text(store_name="店", staff_name="张三") == cards.CardText("张三", "店")
        assert cards.card_text(store_name="店") == cards.CardText("店")
        assert cards.card_text(store_name="店", product_name="宽带", price_fen=9900) == cards.CardText(
            "店", "", "宽带", 9900)


class TestCardFontFallback:
    @pytest.fixture
    def missing_font(self, monkeypatch):
        monkeypatch.setenv(cards.FONT_ENV, "/nonexistent/font.ttc")
        cards.font_path.cache_clear()
        cards._font.cache_clear()
        yield
        monkeypatch.undo()
        cards.font_path.cache_clear()
        cards._font.cache_clear()

    def test_without_a_font_cards_render_with_the_default_and_warn_once(self, missing_font, caplog):
        with caplog.at_level(logging.WARNING, logger="hub.codes.cards"):
            first = cards.card_png("http://hub.test/c/AbCdEf1234?src=qr", cards.CardText("张三", "店"))
            cards.card_png("http://hub.test/c/AbCdEf1234?src=qr", cards.CardText("李四"))
        assert image(first).size == (750, 1050)
        assert decoded(first) == [("http://hub.test/c/AbCdEf1234?src=qr", "M")]
        warnings = [r for r in caplog.records if "no CJK font" in r.getMessage()]
        assert len(warnings) == 1 and "/nonexistent/font.ttc" in warnings[0].getMessage()

    def test_a_face_without_a_family_name_is_passed_over(self, monkeypatch):
        # FreeType gives no family name for some faces; choosing the SC face of a collection skips them.
        class Face:
            def __init__(self, name):
                self.name = name

            def getname(self):
                return self.name, None

        faces = [Face(None), Face("Noto Sans CJK SC")]

        def truetype(path, size, index=0):
            if index >= len(faces):
                raise OSError("no such face")
            return faces[index]

        monkeypatch.setattr(cards, "font_path", lambda: "/fonts/collection.ttc")
        monkeypatch.setattr(cards.ImageFont, "truetype", truetype)
        cards._font.cache_clear()
        try:
            assert cards._font(30) is faces[1]
        finally:
            cards._font.cache_clear()


class TestStoreLogo:
    async def test_a_manager_sets_and_removes_the_own_stores_logo(self, client):
        store = await make_store()
        manager = await make_key(role=Role.STORE_MANAGER, store=store)
        png = logo_png((64, 48))
        response = await client.put(f"/api/v1/stores/{store.id}/logo", headers=manager,
                                    files={"file": ("logo.png", png, "image/png")})
        assert response.status_code == 200, response.text
        assert response.json() == {"store_id": store.id, "bytes": len(png), "width": 64, "height": 48}
        assert (await StoreLogo.get(store_id=store.id)).png == png
        code = await make_code(kind=CodeKind.STORE, store=store)
        assert decoded((await client.get(f"/api/v1/codes/{code.id}/qr.png", headers=manager)).content)[0][1] == "H"
        assert (await client.delete(f"/api/v1/stores/{store.id}/logo", headers=manager)).status_code == 204
        assert not await StoreLogo.exists(store_id=store.id)

    async def test_other_stores_staff_keys_and_missing_stores_are_refused(self, client):
        own, other = await make_store(), await make_store()
        png = {"file": ("logo.png", logo_png(), "image/png")}
        manager = await make_key(role=Role.STORE_MANAGER, store=own)
        assert (await client.put(f"/api/v1/stores/{other.id}/logo", headers=manager, files=png)).status_code == 403
        staff = await make_key(role=Role.STAFF, store=own)
        assert (await client.put(f"/api/v1/stores/{own.id}/logo", headers=staff, files=png)).status_code == 403
        ops = await make_key(role=Role.OPS)
        assert (await client.put("/api/v1/stores/999999/logo", headers=ops, files=png)).status_code == 404
        assert (await client.delete(f"/api/v1/stores/{other.id}/logo", headers=manager)).status_code == 403
        assert await StoreLogo.all().count() == 0

    async def test_only_real_small_pngs_are_taken(self, client):
        store = await make_store()
        ops = await make_key(role=Role.OPS)
        jpeg = io.BytesIO()
        Image.new("RGB", (50, 50), "red").save(jpeg, format="JPEG")
        good = logo_png()
        for data in (jpeg.getvalue(), b"not an image", good[: len(good) // 2], good[:8] + b"\x00" * 100):
            response = await client.put(f"/api/v1/stores/{store.id}/logo", headers=ops,
                                        files={"file": ("logo.png", data, "image/png")})
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "file"
        noise = io.BytesIO()
        Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(noise, format="PNG")
        assert len(noise.getvalue()) > 256 * 1024
        response = await client.put(f"/api/v1/stores/{store.id}/logo", headers=ops,
                                    files={"file": ("logo.png", noise.getvalue(), "image/png")})
        assert response.status_code == 413
        huge = io.BytesIO()
        Image.new("1", (4000, 10)).save(huge, format="PNG")
        response = await client.put(f"/api/v1/stores/{store.id}/logo", headers=ops,
                                    files={"file": ("logo.png", huge.getvalue(), "image/png")})
        assert response.status_code == 422
        assert not await StoreLogo.exists(store_id=store.id)
