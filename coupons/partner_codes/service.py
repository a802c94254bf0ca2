"""Equity coupons (权益券) whose real codes come from the partner in a file: the pool of one batch's codes,
loaded whole or not at all, and handed out one per coupon as it is claimed or issued.

A code belongs to at most one coupon: ``assign`` takes a free row with a conditional UPDATE that re-checks
``coupon_id IS NULL``, so of two callers racing for one row exactly one wins and the other picks again.
It runs in the claim's (or issue's) transaction, so an empty pool refuses the claim and rolls its stock
back: no coupon of an equity batch exists without its partner code.
"""

from __future__ import annotations

import random
from typing import cast

from pydantic import BaseModel
from tortoise.exceptions import IntegrityError

from coupons.batches.service import BatchWrongStatus, get_batch
from coupons.claims import service as claims
from coupons.models import BatchKind, BatchStatus, Coupon, CouponBatch
from coupons.partner_codes.models import PartnerCode
from hub.errors import Conflict, FieldError, InvalidInput
from hub.imports.kinds import Errors
from hub.imports.service import check_size, csv_records, decode_csv

MAX_CODE_LENGTH = 128  # coupon_partner_code.code and coupon.partner_code
CHUNK = 1_000  # rows per bulk INSERT and codes per IN (...) lookup
CANDIDATES = 8  # free rows a claimer picks among, so concurrent claimers rarely aim at the same one
# Picks before giving up. Each lost pick is a row another transaction took and committed, so losses are
# bounded by the pool anyway; this only caps the work of one claimer on a huge pool under heavy contention.
ATTEMPTS = 100


class PartnerCodesRejected(InvalidInput):
    title = "The partner's file has invalid lines; no code was loaded"

    def __init__(self, listed: list[FieldError], count: int, source: str) -> None:
        more = f"; the first {len(listed)} are listed" if count > len(listed) else ""
        super().__init__(f"{count} error(s) in {source or 'the file'}{more}", errors=listed)
        self.count = count

    @classmethod
    def of(cls, errors: Errors, source: str) -> PartnerCodesRejected:
        return cls(errors.first(), errors.count, source)


class NotAnEquityBatch(InvalidInput):
    title = "Only an equity batch takes partner codes"

    def __init__(self, batch: CouponBatch) -> None:
        message = f"batch {batch.id} is a {batch.kind.value} batch; only an equity batch takes partner codes"
        super().__init__(f"batch_id: {message}", errors=[FieldError(field="batch_id", message=message)])


class PartnerCodesLoadedMeanwhile(Conflict):
    title = "Some of these codes were loaded by another upload meanwhile; upload the file again"


class PoolTooSmall(Conflict):
    title = "The batch's partner codes do not cover its stock"


class PartnerCodesBusy(Conflict):
    title = "Too many claims are racing for the batch's partner codes; retry"


class PoolSummary(BaseModel):
    batch_id: int
    total: int  # codes in the pool
    assigned: int  # given to a coupon, for good
    free: int


class LoadSummary(PoolSummary):
    source: str
    added: int  # new codes written by this load
    already_loaded: int  # codes of the file the pool already held (a re-upload adds nothing)


def _check_code(code: str) -> str | None:
    """What is wrong with one stripped code, or None."""
    if not code:
        return "empty code"
    if len(code) > MAX_CODE_LENGTH:
        return f"too long: {len(code)} characters, at most {MAX_CODE_LENGTH}"
    for position, char in enumerate(code, 1):
        if char.isspace():
            return f"a space inside the code (character {position})"
        if not char.isprintable():
            return f"a control or invisible character U+{ord(char):04X} (character {position})"
    return None


def parse(data: bytes, *, source: str) -> list[str]:
    """The codes of the partner's file in file order: one code a line, or a CSV whose first column is the
    code (an optional header line ``code``). Raises PartnerCodesRejected listing every bad line."""
    check_size(data, source or "The file")
    errors = Errors()
    text = decode_csv(data, errors)  # UTF-8 with or without BOM, else GB18030, as hub.imports reads uploads
    # (line, stripped first cell), blank lines included: one in the middle is a missing code
    rows = [(line, cells[0].strip() if cells else "") for line, cells in csv_records(text, errors, keep_blank=True)]
    while rows and not rows[-1][1]:  # blank lines at the end are no codes
        rows.pop()
    if rows and rows[0][1].lower() == "code":
        rows = rows[1:]
    if not rows and not errors:
        errors.add(1, "file", "the file holds no code")
    codes: list[str] = []
    first_line: dict[str, int] = {}
    for line, code in rows:
        problem = _check_code(code)
        if problem is None and code in first_line:
            problem = f"{code} is also on line {first_line[code]}"
        if problem is not None:
            errors.add(line, "file", problem)
            continue
        first_line[code] = line
        codes.append(code)
    if errors:
        raise PartnerCodesRejected.of(errors, source)
    return codes


async def pool_summary(batch_id: int) -> PoolSummary:
    await get_batch(batch_id=batch_id)  # a 404 for an unknown batch, not an empty pool
    total = await PartnerCode.filter(batch_id=batch_id).count()
    assigned = await PartnerCode.filter(batch_id=batch_id, coupon_id__isnull=False).count()
    return PoolSummary(batch_id=batch_id, total=total, assigned=assigned, free=total - assigned)


async def load(*, batch_id: int, codes: list[str], source: str) -> LoadSummary:
    """Add the codes the pool does not hold yet, all or nothing; call it inside ``transaction()``.

    Codes the pool already holds are counted, not refused: uploading the same file again adds nothing,
    and a file mixing old and new codes adds the new ones only."""
    batch = await get_batch(batch_id=batch_id)
    if batch.kind != BatchKind.EQUITY:
        raise NotAnEquityBatch(batch)
    if batch.status == BatchStatus.ENDED:
        raise BatchWrongStatus(f"Coupon batch {batch_id} has ended; it takes no more partner codes")
    source = "".join(c for c in source if c.isprintable())[-200:]
    held: set[str] = set()
    for start in range(0, len(codes), CHUNK):
        held.update(cast(list[str], await PartnerCode.filter(batch_id=batch_id, code__in=codes[start:start + CHUNK])
                         .values_list("code", flat=True)))
    new = [code for code in dict.fromkeys(codes) if code not in held]
    try:
        for start in range(0, len(new), CHUNK):
            await PartnerCode.bulk_create([PartnerCode(batch_id=batch_id, code=code, source=source)
                                           for code in new[start:start + CHUNK]])
    except IntegrityError as exc:  # a concurrent upload wrote some of them first; this transaction rolls back
        raise PartnerCodesLoadedMeanwhile(f"Codes of {source or 'the file'} were loaded into batch {batch_id} "
                                          "by another upload meanwhile; nothing was loaded") from exc
    pool = await pool_summary(batch_id)
    return LoadSummary(**pool.model_dump(), source=source, added=len(new), already_loaded=len(codes) - len(new))


async def assign(*, coupon: Coupon) -> str:
    """Give a new coupon one free partner code of its batch, in the caller's transaction; raises
    OutOfStock when the pool is empty (the caller's transaction then rolls the coupon back)."""
    for _ in range(ATTEMPTS):
        free = await (PartnerCode.filter(batch_id=coupon.batch_id, coupon_id__isnull=True).order_by("id")
                      .limit(CANDIDATES).values_list("id", "code"))
        if not free:
            raise claims.OutOfStock(f"Batch {coupon.batch_id} has no partner code left")
        row_id, code = random.choice(free)  # noqa: S311  spreads concurrent claimers over free rows; not a secret
        # The WHERE re-checks the row is free: a row another claimer took meanwhile updates nothing.
        if await PartnerCode.filter(id=row_id, coupon_id__isnull=True).update(coupon_id=coupon.id):
            await Coupon.filter(id=coupon.id).update(partner_code=code)
            coupon.partner_code = code
            return code
    raise PartnerCodesBusy(f"Could not take a partner code of batch {coupon.batch_id} in {ATTEMPTS} tries")


async def check_covers_stock(*, batch_id: int) -> None:
    """An equity batch may hand out only coupons it has partner codes for: refuse (409) while its pool
    holds fewer free codes than the coupons it may still hand out."""
    batch = await get_batch(batch_id=batch_id)
    if batch.kind != BatchKind.EQUITY:
        return
    remaining = batch.total_quantity - batch.issued_count
    free = (await pool_summary(batch_id)).free
    if free < remaining:
        raise PoolTooSmall(f"Coupon batch {batch_id} may still hand out {remaining} coupons but its pool holds "
                           f"{free} free partner codes: {remaining - free} missing")
