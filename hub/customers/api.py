from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from hub.auth.deps import OpsKey, require
from hub.auth.models import Role
from hub.auth.service import Principal
from hub.customers import merge, service
from hub.customers.models import Channel, IdentityKind
from hub.customers.schemas import (
    ChannelIn,
    ChannelOut,
    CustomerId,
    CustomerIn,
    CustomerOut,
    DoNotDisturbIn,
    IdentityLinkIn,
    Phone,
)
from hub.edge import APIRouter
from hub.errors import Forbidden, problems
from hub.pagination import paginate
from hub.schemas import DbId, Page, PageQuery, Text

router = APIRouter(prefix="/customers", tags=["customers"], responses=problems(401, 403, 422))

# The carrier app creates customers and links logins to them; it reads only by an identity it holds.
WriterKey = Annotated[Principal, require(Role.OPS, Role.ADMIN, Role.CARRIER_APP)]


@router.get("", summary="List or look up customers")
async def list_customers(
    key: WriterKey,
    page: PageQuery,
    phone: Annotated[Phone | None, Query(description="A clear number; hashed for the look-up, never kept")] = None,
    identity_kind: IdentityKind | None = None,
    identity_value: Annotated[Annotated[str, Text(128)] | None, Query()] = None,
    home_store_id: Annotated[DbId | None, Query()] = None,
    region_id: Annotated[DbId | None, Query()] = None,
    do_not_disturb: bool | None = None,
) -> Page[CustomerOut]:
    if key.role == Role.CARRIER_APP and phone is None and identity_kind is None:
        raise Forbidden("A carrier_app key looks customers up by phone or identity only")
    query = await service.list_customers(
        phone=phone, identity_kind=identity_kind, identity_value=identity_value,
        home_store_id=home_store_id, region_id=region_id, do_not_disturb=do_not_disturb,
    )
    return await paginate(query, limit=page.limit, after=page.after, to_out=CustomerOut.of)


@router.get("/{customer_id}", summary="One customer with identities and consents", responses=problems(404))
async def get_customer(key: OpsKey, customer_id: Annotated[CustomerId, Path()]) -> CustomerOut:
    return CustomerOut.of(await service.get_customer(customer_id=customer_id))


@router.post("", status_code=201, summary="Create a customer", responses=problems(409))
async def create_customer(body: CustomerIn, key: WriterKey) -> CustomerOut:
    return CustomerOut.of(await service.create_customer(**body.model_dump()))


@router.post("/{customer_id}/identities", summary="Link an identity (a verified one merges)",
             responses=problems(404, 409))
async def link_identity(
    customer_id: Annotated[CustomerId, Path()], body: IdentityLinkIn, key: WriterKey
) -> CustomerOut:
    return CustomerOut.of(await merge.link_identity(customer_id=customer_id, **body.model_dump()))


@router.put("/{customer_id}/channels/{channel}", summary="Set consent on one channel", responses=problems(404, 409))
async def put_channel(
    customer_id: Annotated[CustomerId, Path()], channel: Channel, body: ChannelIn, key: WriterKey
) -> ChannelOut:
    return ChannelOut.of(await service.set_channel(customer_id=customer_id, channel=channel, **body.model_dump()))


@router.put("/{customer_id}/do-not-disturb", summary="Set the global do-not-disturb flag",
            responses=problems(404, 409))
async def put_do_not_disturb(
    customer_id: Annotated[CustomerId, Path()], body: DoNotDisturbIn, key: WriterKey
) -> CustomerOut:
    return CustomerOut.of(await service.set_do_not_disturb(customer_id=customer_id, **body.model_dump()))
