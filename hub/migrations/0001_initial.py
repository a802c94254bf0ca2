from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from hub.auth.models import Role
from hub.campaigns.models import CampaignStatus
from hub.customers.models import Channel, IdentityKind
from hub.outbox.models import OutboxStatus
from hub.products.models import ProductCategory
from hub.regions.models import RegionLevel
from hub.staff.models import StaffRole
from hub.stores.models import StoreKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=128)),
                ('endpoint', fields.CharField(max_length=200)),
                ('request_hash', fields.CharField(max_length=64)),
                ('status_code', fields.SmallIntField()),
                ('response', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idempotency_record', 'app': 'hub', 'unique_together': (('scope', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.CharField(max_length=100)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedup_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('status', fields.CharEnumField(default=OutboxStatus.PENDING, description='PENDING: pending\nIN_FLIGHT: in_flight\nDELIVERED: delivered\nDEAD: dead', enum_type=OutboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('max_attempts', fields.IntField(default=5)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'hub', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sku', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('category', fields.CharEnumField(description='LIGHT: light\nFINANCE: finance\nTERMINAL: terminal\nHOME: home\nPREFERENCE: preference\nSCENARIO: scenario\nEQUITY: equity', enum_type=ProductCategory, max_length=16)),
                ('price_fen', fields.BigIntField()),
                ('description', fields.TextField(default='', unique=False)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'product', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Region',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('level', fields.CharEnumField(description='PROVINCE: province\nCITY: city\nCOUNTY: county\nGRID: grid', enum_type=RegionLevel, max_length=16)),
                ('parent', fields.ForeignKeyField('hub.Region', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'region', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Store',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharEnumField(default=StoreKind.HALL, description='HALL: hall\nOUTLET: outlet\nFLAGSHIP: flagship', enum_type=StoreKind, max_length=16)),
                ('region', fields.ForeignKeyField('hub.Region', source_field='region_id', db_constraint=True, to_field='id', related_name='stores', on_delete=OnDelete.RESTRICT)),
                ('address', fields.CharField(default='', max_length=200)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'store', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('display_name', fields.CharField(default='', max_length=64)),
                ('phone_masked', fields.CharField(default='', max_length=16)),
                ('region', fields.ForeignKeyField('hub.Region', source_field='region_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('home_store', fields.ForeignKeyField('hub.Store', source_field='home_store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('do_not_disturb', fields.BooleanField(default=False)),
                ('merged_into', fields.ForeignKeyField('hub.Customer', source_field='merged_into_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'customer', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ChannelConsent',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('hub.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='channels', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharEnumField(description='APP: app\nSMS: sms\nWECOM: wecom\nCALL: call', enum_type=Channel, max_length=16)),
                ('consent', fields.BooleanField(default=True)),
                ('do_not_disturb', fields.BooleanField(default=False)),
                ('source', fields.CharField(default='', max_length=32)),
            ],
            options={'table': 'customer_channel', 'app': 'hub', 'unique_together': (('customer', 'channel'),), 'pk_attr': 'id', 'table_description': 'Whether a customer may be contacted on a channel, and whether they asked for quiet there.'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Identity',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('hub.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='identities', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PHONE_HASH: phone_hash\nAPP_USER: app_user\nWECOM_EXTERNAL: wecom_external\nUNIONID: unionid\nH5_ANON: h5_anon', enum_type=IdentityKind, max_length=16)),
                ('value', fields.CharField(max_length=128)),
                ('verified', fields.BooleanField(default=False)),
            ],
            options={'table': 'customer_identity', 'app': 'hub', 'unique_together': (('kind', 'value'),), 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Staff',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('staff_no', fields.CharField(unique=True, max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(default=StaffRole.CLERK, description='CLERK: clerk\nMANAGER: manager\nMANAGER_ON_DUTY: supervisor', enum_type=StaffRole, max_length=16)),
                ('wecom_userid', fields.CharField(null=True, unique=True, max_length=64)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'staff', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('prefix', fields.CharField(unique=True, max_length=16)),
                ('secret_hash', fields.CharField(max_length=64)),
                ('role', fields.CharEnumField(description='STAFF: staff\nSTORE_MANAGER: store_manager\nOPS: ops\nADMIN: admin\nSTRATEGY_ENGINE: strategy_engine\nCARRIER_APP: carrier_app\nPOS: pos', enum_type=Role, max_length=20)),
                ('name', fields.CharField(default='', max_length=100)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_key', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.TextField(default='', unique=False)),
                ('status', fields.CharEnumField(default=CampaignStatus.DRAFT, description='DRAFT: draft\nAPPROVED: approved\nRUNNING: running\nENDED: ended', enum_type=CampaignStatus, max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('channels', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('budget_fen', fields.BigIntField(null=True)),
                ('products', fields.ManyToManyField('hub.Product', unique=True, db_constraint=True, through='campaign_product', forward_key='product_id', backward_key='campaign_id', related_name='campaigns', on_delete=OnDelete.CASCADE)),
                ('drafted_by', fields.ForeignKeyField('hub.ApiKey', source_field='drafted_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('approved_by', fields.ForeignKeyField('hub.ApiKey', source_field='approved_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('approved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'campaign', 'app': 'hub', 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
    ]
