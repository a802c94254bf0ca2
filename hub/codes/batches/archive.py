"""A batch's ZIP: manifest.csv, then each code's QR and card PNGs, drawn and packed piece by piece.

``rendered_files`` draws, in a worker thread per code so the event loop stays free; ``zip_stream`` packs
the ZIP piece by piece, one file in memory at a time. The API's batches store the drawn PNGs and stream
them later (``hub.codes.batches.service``); the CLI draws straight into its file (``write_zip``).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import cast

from PIL import Image

from hub.codes import cards, qr
from hub.codes.batches.items import BatchItem
from hub.stores.models import StoreLogo

MANIFEST_COLUMNS = ("slug", "url", "qr_url", "kind", "store_code", "store_name", "staff_no", "staff_name",
                    "product_sku", "product_name", "qr_file", "card_file")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same batch gives the same archive


def _csv_cell(value: str) -> str:
    # A name starting with = + - @ would run as a formula when the manifest is opened in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def manifest_csv(items: list[BatchItem]) -> bytes:
    """manifest.csv in UTF-8 with a BOM, which spreadsheet programs in China need to show Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for item in items:
        row = asdict(item)
        writer.writerow([_csv_cell(str(row[column])) for column in MANIFEST_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def render_item(item: BatchItem, logo: Image.Image | None) -> tuple[bytes, bytes]:
    """The QR PNG (512 px, with the store's logo if it has one) and the card PNG of one code."""
    text = cards.card_text(store_name=item.store_name, staff_name=item.staff_name,
                           product_name=item.product_name, price_fen=item.price_fen)
    return qr.qr_png(item.qr_url, logo=logo), cards.card_png(item.qr_url, text, logo=logo)


class _Sink(io.RawIOBase):
    """Where ``zipfile`` writes while streaming: it holds only what was written since the last ``take`` and
    lets zipfile seek back within it, so each entry's header gets its real sizes (no data descriptors,
    which some unzip tools refuse on stored entries) while the archive never sits whole in memory."""

    def __init__(self) -> None:
        super().__init__()
        self._base, self._buffer = 0, io.BytesIO()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._buffer.write(data)

    def tell(self) -> int:
        return self._base + self._buffer.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET or offset < self._base:
            raise io.UnsupportedOperation("can only seek within the part not yet taken")
        return self._base + self._buffer.seek(offset - self._base)

    def take(self) -> bytes:
        self._buffer.seek(0, io.SEEK_END)
        data = self._buffer.getvalue()
        self._base += len(data)
        self._buffer = io.BytesIO()
        return data


def _add(archive: zipfile.ZipFile, name: str, data: bytes, compress: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


async def zip_stream(manifest: bytes, files: AsyncIterator[tuple[str, bytes]]) -> AsyncIterator[bytes]:
    """The ZIP of manifest.csv and ``files`` (name, PNG), piece by piece: one file in memory at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        _add(archive, "manifest.csv", manifest, zipfile.ZIP_DEFLATED)
        yield sink.take()
        async for name, data in files:
            _add(archive, name, data, zipfile.ZIP_STORED)  # PNGs are compressed already
            yield sink.take()
    yield sink.take()  # the central directory


async def rendered_files(items: list[BatchItem], *, on_progress: Callable[[int, int], None] | None = None,
                         ) -> AsyncIterator[tuple[BatchItem, bytes, bytes]]:
    """Each item with its QR and card PNGs, drawn in a worker thread so the event loop stays free."""
    logo_of: tuple[int, Image.Image | None] = (0, None)  # items come grouped by store: one logo read per store
    for done, item in enumerate(items, start=1):
        if item.store_id != logo_of[0]:
            png = cast(list[bytes], await StoreLogo.filter(store_id=item.store_id).values_list("png", flat=True))
            logo_of = (item.store_id, qr.load_logo(png[0] if png else None))
        qr_png, card_png = await asyncio.to_thread(render_item, item, logo_of[1])
        yield item, qr_png, card_png
        if on_progress is not None:
            on_progress(done, len(items))


async def write_zip(items: list[BatchItem], *, out: Path,
                    on_progress: Callable[[int, int], None] | None = None) -> None:
    """Render every code into ``out`` (written beside it, then renamed: readers never see half a ZIP); the
    CLI's path, the same bytes as the API's download of the same items."""

    async def files() -> AsyncIterator[tuple[str, bytes]]:
        async for item, qr_png, card_png in rendered_files(items, on_progress=on_progress):
            yield item.qr_file, qr_png
            yield item.card_file, card_png

    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("wb") as file:
            async for piece in zip_stream(manifest_csv(items), files()):
                file.write(piece)
        os.replace(partial, out)
    except BaseException:  # failed or cancelled (Ctrl-C): no half archive left behind
        partial.unlink(missing_ok=True)
        raise
