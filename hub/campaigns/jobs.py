"""Campaign jobs: the minute tick that starts and ends campaigns on their schedule."""


from hub import clock
from hub.campaigns import service
from hub.database import transaction
from hub.jobs import periodic


@periodic(every_seconds=60)
async def campaigns_advance_schedule(ctx: dict) -> dict[str, int]:
    # Conditional updates make a repeated or overlapping run harmless.
    async with transaction():
        return await service.advance_schedule(now=clock.now())
