"""What every storefront page shares: the templates, the private headers, the message page, the codes drawn.

Pages carry a bearer secret in their URL (a coupon's code, a signed claim link, a share token), so every
answer is ``no-store`` and ``no-referrer`` and loads nothing from elsewhere. They are pages for people, not
API: every outcome is a small Chinese page with its status, never problem JSON, and none is in OpenAPI.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from hub.codes.qr import qr_svg_element
from storefront.barcode import barcode_svg

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}

_env = Environment(loader=PackageLoader("storefront", "templates"), autoescape=True)


def render(template: str, *, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status, headers=HEADERS)


def message_page(status: int, title: str, message: str, *, detail: str = "", link: str | None = None,
                 link_text: str = "") -> HTMLResponse:
    return render("message.html", status=status, title=title, message=message, detail=detail, link=link,
                  link_text=link_text)


def coupon_path(code: str) -> str:
    return f"/s/coupons/{code}"


def to_coupon(code: str) -> RedirectResponse:
    """After a POST: 303 to the coupon's page, which shows whatever the coupon now is."""
    return RedirectResponse(coupon_path(code), status_code=303, headers=HEADERS)


def groups_of_four(code: str) -> str:
    return " ".join(code[i:i + 4] for i in range(0, len(code), 4))


def qr_svg(code: str) -> Markup:
    element = qr_svg_element(code, size=200)
    for name in ("width", "height"):  # the page sizes it
        element.attrib.pop(name, None)
    element.set("role", "img")
    element.set("aria-label", "优惠券二维码")
    return Markup(ET.tostring(element, encoding="unicode"))  # noqa: S704  our own SVG, drawn from the code


def barcode(code: str) -> Markup:
    """The Code 128 drawing, for tills that read 1-D barcodes only."""
    return Markup(barcode_svg(code))  # noqa: S704  our own SVG, drawn from the code
