"""CSV import of regions, stores, staff and products: the whole file is checked, then written at once.

Nothing is written unless every row is good, and every bad row is reported with its line and column.
Rows are matched on their natural key; a row equal to the stored one is left alone (no UPDATE), so
re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from pydantic import BaseModel, ValidationError
from tortoise.exceptions import IntegrityError

from hub.database import current_unit_of_work
from hub.errors import Conflict, FieldError, InvalidInput, PayloadTooLarge
from hub.imports.kinds import SPECS, Context, Errors, ImportKind, NewRef, Planned, Rows, Spec, fetch_by

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
CREATE_BATCH = 1_000
UPDATE_BATCH = 500  # a bulk UPDATE binds three parameters per row and column
PROGRESS_EVERY = 1_000

Progress = Callable[[int, int], None]


class ImportReport(BaseModel):
    kind: ImportKind
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    errors: list[FieldError] = []
    error_count: int = 0


class ImportRejected(InvalidInput):
    title = "The file has invalid rows; nothing was written"

    def __init__(self, report: ImportReport) -> None:
        listed = len(report.errors)
        more = f"; the first {listed} are listed" if report.error_count > listed else ""
        super().__init__(f"{report.error_count} error(s) in the file{more}", errors=report.errors)
        self.report = report


class ImportConflict(Conflict):
    title = "The data changed while importing; run the import again"


class _Ticker:
    """Reports rows checked, then rows written, against twice the row count."""

    def __init__(self, progress: Progress | None, rows: int) -> None:
        self.progress, self.total, self.done, self._shown = progress, 2 * rows, 0, 0

    def __call__(self, n: int = 1) -> None:
        self.done += n
        if self.done - self._shown >= PROGRESS_EVERY or self.done == self.total:
            self.flush()

    def flush(self) -> None:
        self._shown = self.done
        if self.progress:
            self.progress(self.done, self.total)


async def import_csv(
    *, kind: ImportKind, data: bytes, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Check the whole file, then write it unless ``dry_run``; call it inside ``transaction()``."""
    spec = SPECS[kind]
    errors = Errors()
    records = read_records(data, errors)
    if errors:
        raise _rejected(kind, 0, dry_run, errors)
    (header_line, header), records = records[0], records[1:]
    names = _columns(spec, kind, header, header_line, errors)
    if errors:
        raise _rejected(kind, len(records), dry_run, errors)

    tick = _Ticker(progress, len(records))
    rows, keys = _validate(spec, names, records, errors, tick)
    tick.flush()
    existing = await fetch_by(spec.model, spec.key, [getattr(row, spec.key) for _, row in rows])
    ctx = Context(frozenset(names), keys, {getattr(o, spec.key): o for o in existing}, errors)
    planned = await spec.plan(rows, ctx)
    if errors:
        raise _rejected(kind, len(records), dry_run, errors)

    new, changed = [], []
    for p in planned:
        stored = ctx.existing.get(p.key)
        if stored is None:
            new.append(p)
        elif diff := {f: v for f, v in p.values.items() if getattr(stored, f) != v}:
            changed.append((p, stored, diff))
    report = ImportReport(kind=kind, rows=len(records), created=len(new), updated=len(changed),
                          unchanged=len(planned) - len(new) - len(changed), dry_run=dry_run)
    tick(report.unchanged)
    if dry_run:
        tick(report.created + report.updated)
        return report
    current_unit_of_work()  # the caller's transaction is what makes the import all or nothing
    try:
        await _write(spec, new, changed, tick)
    except IntegrityError as exc:  # someone wrote the same keys meanwhile; the transaction rolls back
        raise ImportConflict("Rows with the same keys were written meanwhile; nothing was imported") from exc
    if spec.after_update is not None and changed:
        await spec.after_update([(stored, diff) for _, stored, diff in changed])
    return report


def _rejected(kind: ImportKind, rows: int, dry_run: bool, errors: Errors) -> ImportRejected:
    return ImportRejected(ImportReport(kind=kind, rows=rows, dry_run=dry_run, errors=errors.first(),
                                       error_count=errors.count))


def check_size(data: bytes, name: str = "The file") -> None:
    """Refuse a file over the cap (413) before any of it is read as text."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"{name} is larger than {MAX_BYTES // 2**20} MB")


def read_records(data: bytes, errors: Errors) -> list[tuple[int, list[str]]]:
    """An uploaded CSV's non-blank records (``csv_records``) decoded as ``decode_csv`` does, the header
    first; an empty file is an error on line 1. Raises 413 over the cap."""
    check_size(data)
    records = csv_records(decode_csv(data, errors), errors)
    if not records and not errors:
        errors.add(1, "file", "the file is empty; the first line must be the header")
    return records


def decode_csv(data: bytes, errors: Errors) -> str:
    """UTF-8 (with or without BOM), else GB18030, which is how Excel in China saves CSV."""
    if b"\x00" in data:  # UTF-16 ("Unicode text") or a binary file; GB18030 would swallow it as garbage
        errors.add(data.count(b"\n", 0, data.index(b"\x00")) + 1, "file", "not a text file (UTF-8 or GB18030)")
        return ""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
    try:
        return data.decode("gb18030").removeprefix("\ufeff")
    except UnicodeDecodeError:
        errors.add(line, "file", "the file is neither UTF-8 nor GB18030 text")
        return ""


def csv_records(text: str, errors: Errors, *, keep_blank: bool = False) -> list[tuple[int, list[str]]]:
    """CSV records with the physical line each starts on (a quoted cell may span lines); blank ones only
    with ``keep_blank``, for files where a blank line means something (a code missing)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            errors.add(line, "file", f"unreadable CSV: {exc}")
            return records
        if keep_blank or any(cell.strip() for cell in cells):
            if len(records) > MAX_ROWS:  # the header plus MAX_ROWS rows are already in
                raise PayloadTooLarge(f"The file has more than {MAX_ROWS:,} rows")
            records.append((line, cells))


def _columns(spec: Spec, kind: ImportKind, header: list[str], line: int, errors: Errors) -> list[str]:
    names = [h.strip().lower() for h in header]
    while names and not names[-1]:  # Excel leaves empty trailing columns behind
        names.pop()
    seen: set[str] = set()
    for i, name in enumerate(names, 1):
        if not name:
            errors.add(line, f"column {i}", "the column has no name")
        elif name not in spec.columns:
            errors.add(line, name, f"unknown column; {kind} files have {', '.join(spec.columns)}")
        elif name in seen:
            errors.add(line, name, "the column appears twice")
        seen.add(name)
    for name in spec.columns:
        if name in spec.required and name not in seen:
            errors.add(line, name, "missing column")
    return names


def _validate(
    spec: Spec, names: list[str], records: list[tuple[int, list[str]]], errors: Errors, tick: _Ticker
) -> tuple[Rows, dict[str, int]]:
    """Each row through the kind's row model; a repeated natural key is an error on the later line."""
    required, width = spec.required, len(names)
    rows: Rows = []
    keys: dict[str, int] = {}
    for line, cells in records:
        tick()
        raw = dict(zip(names, cells + [""] * (width - len(cells)), strict=False))  # cells past the header are dropped
        key = raw[spec.key].strip()
        first = keys.setdefault(key, line) if key else line
        if first != line:
            errors.add(line, spec.key, f"{key} is also on line {first}")
        if any(cell.strip() for cell in cells[width:]):
            errors.add(line, "row", f"{len(cells)} values, but the header has {width} columns")
            continue
        try:
            row = spec.row.model_validate({c: v for c, v in raw.items() if c in required or v.strip()})
        except ValidationError as exc:
            for e in exc.errors():
                column = str(e["loc"][0]) if e["loc"] else "row"
                empty = column in required and not raw.get(column, "").strip()
                errors.add(line, column, "is required" if empty else e["msg"])
            continue
        if first == line:
            rows.append((line, row))
    return rows, keys


async def _write(spec: Spec, new: list[Planned], changed: list, tick: _Ticker) -> None:
    """Parents first: groups in order, each bulk-created and bulk-updated; ids fetched only for later groups."""
    ids: dict[str, int] = {}
    groups = sorted({p.group for p in new} | {p.group for p, _, _ in changed})

    def resolve(values: dict) -> dict:
        return {f: ids[v.code] if isinstance(v, NewRef) else v for f, v in values.items()}

    for group in groups:
        created = [spec.model(**resolve(p.values)) for p in new if p.group == group]
        for start in range(0, len(created), CREATE_BATCH):
            await spec.model.bulk_create(created[start : start + CREATE_BATCH])
            tick(len(created[start : start + CREATE_BATCH]))
        if created and group != groups[-1]:
            found = await fetch_by(spec.model, spec.key, [getattr(o, spec.key) for o in created], spec.key, "id")
            ids |= {r[spec.key]: r["id"] for r in found}
        updated, fields = [], set()
        for p, stored, diff in changed:
            if p.group == group:
                for f, v in resolve(diff).items():
                    setattr(stored, f, v)
                fields |= diff.keys()
                updated.append(stored)
        for start in range(0, len(updated), UPDATE_BATCH):
            batch = updated[start : start + UPDATE_BATCH]
            await spec.model.bulk_update(batch, fields=[*sorted(fields), "updated_at"])
            tick(len(batch))
