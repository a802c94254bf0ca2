from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from hub.codes.models import BatchPer, BatchStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('hub', '0009_idempotency_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CodeBatch',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('per', fields.CharEnumField(description='STAFF: staff\nPRODUCT: product\nSTORE: store', enum_type=BatchPer, max_length=16)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('region', fields.ForeignKeyField('hub.Region', source_field='region_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=BatchStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nDONE: done\nFAILED: failed', enum_type=BatchStatus, max_length=16)),
                ('total', fields.IntField(default=0)),
                ('done', fields.IntField(default=0)),
                ('created', fields.IntField(default=0)),
                ('reused', fields.IntField(default=0)),
                ('skipped_inactive', fields.IntField(default=0)),
                ('error', fields.CharField(default='', max_length=500)),
                ('created_by', fields.ForeignKeyField('hub.ApiKey', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'code_batch', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='CodeBatchItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('hub.CodeBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('item', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('qr_png', fields.BinaryField(null=True)),
                ('card_png', fields.BinaryField(null=True)),
            ],
            options={'table': 'code_batch_item', 'app': 'hub', 'unique_together': (('batch', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
