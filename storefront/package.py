"""What the storefront contributes: the customers' H5 pages (see ``hub.packages``)."""

from hub.packages import Mount, Package, Router

PACKAGE = Package(
    name="storefront",
    routers=(
        Router("storefront.coupons.pages", Mount.ROOT),  # /s/coupons/: customers' coupon pages
        Router("storefront.gifts.pages", Mount.ROOT),  # /s/gifts/: the page a coupon share link opens
    ),
)
