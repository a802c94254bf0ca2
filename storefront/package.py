"""What the storefront contributes: the customers' H5 pages (see ``hub.packages``)."""

from hub.packages import Mount, Package, Router

PACKAGE = Package(
    name="storefront",
    routers=(
        Router("storefront.coupon_pages", Mount.ROOT),  # /s/coupons/: customers' coupon pages
        Router("storefront.gift_pages", Mount.ROOT),  # /s/gifts/: the page a coupon share link opens
    ),
)
