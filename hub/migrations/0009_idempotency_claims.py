from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from hub.migration_ops import DropColumn


class Migration(migrations.Migration):
    dependencies = [('hub', '0008_coupon_equity_regions_reminders_issue_runs')]

    initial = False

    operations = [
        # The stored answer becomes the bytes sent (replayed as they are); the parsed JSON copy goes.
        ops.AddField(
            model_name='IdempotencyRecord',
            name='body',
            field=fields.TextField(default='', unique=False),
        ),
        DropColumn(model_name='IdempotencyRecord', name='response'),
    ]
