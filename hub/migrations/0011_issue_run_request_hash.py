from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('hub', '0010_code_batches_in_database')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CouponIssueRun',
            name='request_hash',
            field=fields.CharField(default='', max_length=64),
        ),
    ]
