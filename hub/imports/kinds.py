"""What each import kind accepts: its row model, natural key and reference checks.

A column left out of the header keeps the stored value on update (the model default on create); an
empty cell in a present column means the model default (``""``, ``None``, ``true``, ``hall``…), so a
file always describes its rows completely for the columns it has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, Field
from tortoise.models import Model

from hub.errors import FieldError
from hub.products.models import Product, ProductCategory
from hub.regions.models import PARENT_LEVEL, Region, RegionLevel
from hub.schemas import Code, Fen, Text
from hub.staff.models import Staff, StaffRole
from hub.stores.models import Store, StoreKind

MAX_ERRORS = 1_000  # listed in a report; the rest are only counted
KEYS_PER_QUERY = 10_000  # asyncpg takes at most 32,767 parameters per statement


class ImportKind(StrEnum):
    REGIONS = "regions"
    STORES = "stores"
    STAFF = "staff"
    PRODUCTS = "products"


_TRUE = {"true", "1", "yes", "y", "是"}
_FALSE = {"false", "0", "no", "n", "否"}


def _csv_bool(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("must be true/false, 1/0, yes/no or 是/否")
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


CsvBool = Annotated[bool, BeforeValidator(_csv_bool)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


E = TypeVar("E", bound=StrEnum)
M = TypeVar("M", bound=Model)
# An enum column, forgiving about case and spaces (Excel users type ``Grid``): ``Choice[RegionLevel]``.
Choice = Annotated[E, BeforeValidator(_lower)]


class RegionRow(BaseModel):
    code: Code
    name: Annotated[str, Text(64)]
    level: Choice[RegionLevel]
    parent_code: Code | None = None


class StoreRow(BaseModel):
    code: Code
    name: Annotated[str, Text(100)]
    kind: Choice[StoreKind] = StoreKind.HALL
    region_code: Code
    address: Annotated[str, Text(200, min_length=0)] = ""
    phone: Annotated[str, Text(32, min_length=0)] = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    active: CsvBool = True


class StaffRow(BaseModel):
    staff_no: Code
    name: Annotated[str, Text(64)]
    store_code: Code
    role: Choice[StaffRole] = StaffRole.CLERK
    wecom_userid: Annotated[str, Text(64)] | None = None
    active: CsvBool = True


class ProductRow(BaseModel):
    sku: Code
    name: Annotated[str, Text(100)]
    category: Choice[ProductCategory]
    price_fen: Fen
    description: Annotated[str, Text(4000, min_length=0)] = ""
    active: CsvBool = True


class Errors:
    """Every error of a file, counted; only the first MAX_ERRORS by line are kept (a file may be all bad)."""

    def __init__(self) -> None:
        self.count = 0
        self._items: list[tuple[int, int, str, str]] = []

    def add(self, line: int | None, field: str, message: str) -> None:
        self.count += 1
        self._items.append((line or 0, self.count, field, message))
        if len(self._items) > 10 * MAX_ERRORS:
            self._trim()

    def _trim(self) -> None:
        self._items.sort()
        del self._items[MAX_ERRORS:]

    def first(self) -> list[FieldError]:
        self._trim()
        return [FieldError(line=line or None, field=f, message=m) for line, _, f, m in self._items]

    def __bool__(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class NewRef:
    """A parent created by this same import: its id is known only once its level is written."""

    code: str


@dataclass
class Planned:
    line: int
    key: str
    values: dict[str, Any]  # model field → value, only for the columns the file has
    group: int = 0  # written in ascending order: parents first


@dataclass
class Context:
    columns: frozenset[str]  # the columns of the header
    keys: dict[str, int]  # natural key → first line, over every row of the file, good or bad
    existing: dict[str, Any]  # stored rows (models) of this kind, by natural key
    errors: Errors = field(default_factory=Errors)


Rows = list[tuple[int, Any]]  # (line, the kind's row model)


async def fetch_by(model: type[Model], field_name: str, values: Iterable[str | int], *fields: str) -> list:
    """Rows whose ``field_name`` is one of ``values``: one query per KEYS_PER_QUERY values, never per row."""
    values = list(values)
    found: list = []
    for start in range(0, len(values), KEYS_PER_QUERY):
        query = model.filter(**{f"{field_name}__in": values[start : start + KEYS_PER_QUERY]})
        found += await (query.values(*fields) if fields else query)
    return found


def present(row: BaseModel, ctx: Context, *, without: str = "") -> dict[str, Any]:
    """The row's values for the columns the file has (a code column is swapped for an id by the caller)."""
    return {c: getattr(row, c) for c in ctx.columns if c != without}


async def _codes_to_ids(model: type[Model], codes: set[str]) -> dict[str, int]:
    return {r["code"]: r["id"] for r in await fetch_by(model, "code", codes, "code", "id")}


_DEPTH = list(PARENT_LEVEL)  # province, city, county, grid


async def plan_regions(rows: Rows, ctx: Context) -> list[Planned]:
    """Parents may sit anywhere in the file; the level must fit PARENT_LEVEL with the file's own levels."""
    in_file = {row.code: row.level for _, row in rows}
    outside = {r.parent_code for _, r in rows if r.parent_code and r.parent_code not in ctx.existing}
    stored = dict(ctx.existing) | {r.code: r for r in await fetch_by(Region, "code", outside - in_file.keys())}
    planned = []
    for line, row in rows:
        expected, code = PARENT_LEVEL[row.level], row.parent_code
        parent_id: int | NewRef | None = None
        if expected is None and code:
            ctx.errors.add(line, "parent_code", "a province has no parent")
            continue
        if expected is not None:
            if not code:
                ctx.errors.add(line, "parent_code", f"a {row.level.value} needs a parent {expected.value}")
                continue
            if code not in in_file and code in ctx.keys:
                continue  # the parent's own line has errors
            if code not in in_file and code not in stored:
                ctx.errors.add(line, "parent_code", f"no region {code}")
                continue
            level = in_file.get(code) or stored[code].level
            if level != expected:
                ctx.errors.add(line, "parent_code", f"a {row.level.value}'s parent must be a {expected.value}; "
                                                    f"{code} is a {level}")
                continue
            parent_id = stored[code].id if code in stored else NewRef(code)
        values = {"code": row.code, "name": row.name, "level": row.level, "parent_id": parent_id}
        planned.append(Planned(line, row.code, values, _DEPTH.index(row.level)))
    await _check_children_fit(rows, ctx)
    return planned


async def _check_children_fit(rows: Rows, ctx: Context) -> None:
    """A stored region that changes level must not strand stored children the file leaves alone."""
    moved = {ctx.existing[r.code].id: (line, r) for line, r in rows
             if r.code in ctx.existing and ctx.existing[r.code].level != r.level}
    if not moved:
        return
    reported = set()
    for child in await fetch_by(Region, "parent_id", moved, "code", "level", "parent_id"):
        line, row = moved[child["parent_id"]]
        if child["code"] in ctx.keys or row.code in reported or PARENT_LEVEL[RegionLevel(child["level"])] == row.level:
            continue
        reported.add(row.code)
        ctx.errors.add(line, "level", f"region {row.code} has child {child['code']} ({child['level']}), "
                                      f"which cannot hang under a {row.level.value}")


async def plan_stores(rows: Rows, ctx: Context) -> list[Planned]:
    found = await fetch_by(Region, "code", {row.region_code for _, row in rows}, "code", "id", "level")
    regions = {r["code"]: r for r in found}
    planned = []
    for line, row in rows:
        region = regions.get(row.region_code)
        if region is None:
            ctx.errors.add(line, "region_code", f"no region {row.region_code}")
            continue
        if region["level"] != RegionLevel.GRID:
            ctx.errors.add(line, "region_code", f"{row.region_code} is a {region['level']}; stores belong to a grid")
            continue
        values = present(row, ctx, without="region_code") | {"region_id": region["id"]}
        planned.append(Planned(line, row.code, values))
    return planned


async def plan_staff(rows: Rows, ctx: Context) -> list[Planned]:
    """Store codes must exist; a WeCom user id belongs to one staff member, in the file and in the database."""
    stores = await _codes_to_ids(Store, {row.store_code for _, row in rows})
    userids = {row.wecom_userid for _, row in rows if row.wecom_userid} if "wecom_userid" in ctx.columns else set()
    owners = {r["wecom_userid"]: r["staff_no"]
              for r in await fetch_by(Staff, "wecom_userid", userids, "wecom_userid", "staff_no")}
    first_line: dict[str, int] = {}
    planned = []
    for line, row in rows:
        ok = True
        if row.store_code not in stores:
            ctx.errors.add(line, "store_code", f"no store {row.store_code}")
            ok = False
        uid = row.wecom_userid if "wecom_userid" in ctx.columns else None
        if uid and first_line.setdefault(uid, line) != line:
            ctx.errors.add(line, "wecom_userid", f"{uid} is also on line {first_line[uid]}")
            ok = False
        elif uid and owners.get(uid, row.staff_no) != row.staff_no:
            ctx.errors.add(line, "wecom_userid", f"{uid} belongs to staff {owners[uid]}")
            ok = False
        if ok:
            values = present(row, ctx, without="store_code") | {"store_id": stores[row.store_code]}
            planned.append(Planned(line, row.staff_no, values))
    return planned


async def plan_products(rows: Rows, ctx: Context) -> list[Planned]:
    return [Planned(line, row.sku, present(row, ctx)) for line, row in rows]


@dataclass(frozen=True)
class Spec(Generic[M]):
    model: type[M]
    row: type[BaseModel]
    key: str  # the natural key: column name and model field
    plan: Callable[[Rows, Context], Awaitable[list[Planned]]]
    # Called in the import's transaction with each updated row and what changed in it (column → new value).
    after_update: Callable[[list[tuple[M, dict]]], Awaitable[None]] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.row.model_fields)

    @property
    def required(self) -> set[str]:
        return {name for name, f in self.row.model_fields.items() if f.is_required()}


async def staff_updated(changed: list[tuple[Staff, dict]]) -> None:
    """Staff deactivated, back, moved store or given another WeCom account: the WeCom contact ways they take
    customers on plan again, as when one is changed over the API (``hub.staff.service.update_staff``)."""
    from hub.wecom.contact_ways.service import staff_changed

    for staff, diff in changed:
        if diff.keys() & {"active", "wecom_userid", "store_id"}:
            await staff_changed(staff_id=staff.id)


SPECS: dict[ImportKind, Spec[Any]] = {
    ImportKind.REGIONS: Spec(Region, RegionRow, "code", plan_regions),
    ImportKind.STORES: Spec(Store, StoreRow, "code", plan_stores),
    ImportKind.STAFF: Spec(Staff, StaffRow, "staff_no", plan_staff, after_update=staff_updated),
    ImportKind.PRODUCTS: Spec(Product, ProductRow, "sku", plan_products),
}
