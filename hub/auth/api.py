from __future__ import annotations

from pydantic import BaseModel

from hub.auth.deps import CurrentKey
from hub.auth.models import Role
from hub.edge import APIRouter
from hub.errors import problems

router = APIRouter(tags=["auth"], responses=problems(401))


class WhoAmI(BaseModel):
    prefix: str
    role: Role
    store_id: int | None
    staff_id: int | None


@router.get("/me", summary="The key making this request")
async def me(key: CurrentKey) -> WhoAmI:
    return WhoAmI(prefix=key.prefix, role=key.role, store_id=key.store_id, staff_id=key.staff_id)
