from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from hub.wecom.models import ContactStatus, ContactWayStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from webhooks.models import ReceiptStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0002_codes_and_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContactWay',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.OneToOneField('hub.Code', source_field='code_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('way_type', fields.IntField()),
                ('state', fields.CharField(unique=True, max_length=30)),
                ('skip_verify', fields.BooleanField(default=True)),
                ('welcome_text', fields.CharField(default='', max_length=1000)),
                ('welcome_link_url', fields.CharField(default='', max_length=1000)),
                ('welcome_link_title', fields.CharField(default='', max_length=64)),
                ('tag_names', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('daily_cap', fields.IntField(null=True)),
                ('applied_userids', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=ContactWayStatus.PENDING, description='PENDING: pending\nSYNCED: synced\nFAILED: failed\nDELETED: deleted', enum_type=ContactWayStatus, max_length=16)),
                ('last_error', fields.CharField(default='', max_length=255)),
                ('synced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'wecom_contact_way', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ContactAddCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('contact_way', fields.ForeignKeyField('hub.ContactWay', source_field='contact_way_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('adds', fields.IntField(default=0)),
            ],
            options={'table': 'wecom_contact_add_count', 'app': 'hub', 'unique_together': (('contact_way', 'staff', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ContactWayMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('contact_way', fields.ForeignKeyField('hub.ContactWay', source_field='contact_way_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('backup', fields.BooleanField(default=False)),
                ('duty_hours', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'wecom_contact_way_member', 'app': 'hub', 'unique_together': (('contact_way', 'staff'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffContact',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('hub.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('external_userid', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(default=ContactStatus.ACTIVE, description='ACTIVE: active\nHALF: half\nREMOVED_BY_CUSTOMER: removed_by_customer\nLOST: lost\nTRANSFERRED: transferred', enum_type=ContactStatus, max_length=24)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('code', fields.ForeignKeyField('hub.Code', source_field='code_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('campaign', fields.ForeignKeyField('hub.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('wecom_state', fields.CharField(default='', max_length=32)),
                ('welcome', fields.CharField(default='', max_length=32)),
                ('remark', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'staff_contact', 'app': 'hub', 'unique_together': (('staff', 'external_userid'),), 'indexes': [Index(fields=['staff_id', 'added_at']), Index(fields=['store_id', 'added_at']), Index(fields=['customer_id'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='WebhookReceipt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=16)),
                ('dedup_key', fields.CharField(max_length=255)),
                ('kind', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deliveries', fields.IntField(default=1)),
                ('status', fields.CharEnumField(default=ReceiptStatus.PENDING, description='PENDING: pending\nPROCESSING: processing\nDONE: done\nFAILED: failed', enum_type=ReceiptStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('outcome', fields.CharField(default='', max_length=255)),
            ],
            options={'table': 'webhook_receipt', 'app': 'hub', 'unique_together': (('source', 'dedup_key'),), 'indexes': [Index(fields=['status', 'received_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WecomAccessToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cache_key', fields.CharField(unique=True, max_length=64)),
                ('token', fields.CharField(default='', max_length=512)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wecom_access_token', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WecomTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('group_name', fields.CharField(default='', max_length=64)),
                ('tag_id', fields.CharField(unique=True, max_length=64)),
                ('synced_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wecom_tag', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
