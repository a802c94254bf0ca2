from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0005_coupon_reconciliation')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='CouponLedger',
            index=Index(fields=['coupon_id', 'id']),
        ),
        ops.AddIndex(
            model_name='CouponLedger',
            index=Index(fields=['store_id', 'id']),
        ),
        ops.AddIndex(
            model_name='CouponLedger',
            index=Index(fields=['store_id', 'created_at']),
        ),
        ops.AddIndex(
            model_name='Customer',
            index=Index(fields=['merged_into_id']),
        ),
    ]
