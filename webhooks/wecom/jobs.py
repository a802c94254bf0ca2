"""WeCom receipt jobs on the urgent lane: a welcome message must go out within 20 s of the add event,
so callback processing never waits behind bulk work. The sweeper recovers receipts whose job was lost.
"""

from hub.jobs import job, periodic
from webhooks.wecom import service


@job(max_tries=service.MAX_ATTEMPTS, timeout_seconds=service.TRY_TIMEOUT_SECONDS, lane="urgent")
async def wecom_process_receipt(ctx: dict, receipt_id: int) -> str:
    return await service.process_receipt(receipt_id=receipt_id)


@periodic(every_seconds=service.SWEEP_SECONDS)
async def wecom_sweep_receipts(ctx: dict) -> int:
    return await service.sweep()
