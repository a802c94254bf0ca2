"""The public link /c/{slug} (being written)."""

from fastapi import APIRouter

router = APIRouter(tags=["public links"])
