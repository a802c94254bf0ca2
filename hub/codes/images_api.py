"""hub.codes.images_api (being written)."""

from fastapi import APIRouter

router = APIRouter(tags=["codes"])
