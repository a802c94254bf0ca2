from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from hub.codes.models import CodeKind, TargetKind
from hub.events.models import EventType
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Code',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=16)),
                ('kind', fields.CharEnumField(description='STORE: store\nPRODUCT: product\nSTAFF: staff\nLIVESTREAM: livestream\nCAMPAIGN: campaign', enum_type=CodeKind, max_length=16)),
                ('name', fields.CharField(default='', max_length=100)),
                ('target_kind', fields.CharEnumField(default=TargetKind.STOREFRONT, description='STOREFRONT: storefront\nWECOM_CONTACT: wecom_contact\nLIVESTREAM: livestream', enum_type=TargetKind, max_length=16)),
                ('target_url', fields.CharField(max_length=1000)),
                ('store', fields.ForeignKeyField('hub.Store', source_field='store_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('product', fields.ForeignKeyField('hub.Product', source_field='product_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('campaign', fields.ForeignKeyField('hub.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(default='', max_length=32)),
                ('valid_from', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('scan_limit', fields.IntField(null=True)),
                ('scans_counted', fields.BigIntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('live_starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('live_ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('products', fields.ManyToManyField('hub.Product', unique=True, db_constraint=True, through='code_product', forward_key='product_id', backward_key='code_id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('batch_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('wecom_config_id', fields.CharField(null=True, max_length=64)),
                ('wecom_qr_code', fields.CharField(null=True, max_length=500)),
                ('created_by', fields.ForeignKeyField('hub.ApiKey', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'code', 'app': 'hub', 'indexes': [Index(fields=['store_id', 'kind']), Index(fields=['staff_id', 'kind'])], 'pk_attr': 'id'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('type', fields.CharEnumField(description='EXPOSURE: exposure\nSCAN: scan\nVISIT: visit\nPRODUCT_VIEW: product_view\nWECOM_ADD: wecom_add\nWECOM_REMOVE: wecom_remove\nCLAIM: claim\nORDER: order\nREDEEM: redeem\nREVERSE: reverse\nTOUCH_PLANNED: touch_planned\nTOUCH_SUPPRESSED: touch_suppressed\nTOUCH_SENT: touch_sent\nTOUCH_DELIVERED: touch_delivered\nTOUCH_FAILED: touch_failed\nTOUCH_CLICKED: touch_clicked', enum_type=EventType, max_length=24)),
                ('occurred_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('customer_id', fields.BigIntField(null=True, db_index=True)),
                ('visitor_id', fields.CharField(null=True, db_index=True, max_length=40)),
                ('code_id', fields.IntField(null=True)),
                ('store_id', fields.IntField(null=True)),
                ('staff_id', fields.IntField(null=True)),
                ('product_id', fields.IntField(null=True)),
                ('campaign_id', fields.IntField(null=True)),
                ('offer_id', fields.BigIntField(null=True)),
                ('channel', fields.CharField(default='', max_length=32)),
                ('counted', fields.BooleanField(default=True)),
                ('props', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'event', 'app': 'hub', 'indexes': [Index(fields=['code_id', 'occurred_at']), Index(fields=['type', 'occurred_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScanDaily',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_id', fields.IntField()),
                ('day', fields.DateField(db_index=True)),
                ('store_id', fields.IntField(null=True, db_index=True)),
                ('staff_id', fields.IntField(null=True, db_index=True)),
                ('product_id', fields.IntField(null=True)),
                ('campaign_id', fields.IntField(null=True)),
                ('scans', fields.BigIntField(default=0)),
                ('unique_scanners', fields.BigIntField(default=0)),
                ('qr_scans', fields.BigIntField(default=0)),
                ('link_scans', fields.BigIntField(default=0)),
                ('wechat', fields.BigIntField(default=0)),
                ('wecom', fields.BigIntField(default=0)),
                ('other_app', fields.BigIntField(default=0)),
                ('browser', fields.BigIntField(default=0)),
                ('bots', fields.BigIntField(default=0)),
            ],
            options={'table': 'scan_daily', 'app': 'hub', 'unique_together': (('code_id', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScanVisitorHour',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code_id', fields.IntField()),
                ('visitor_id', fields.CharField(max_length=40)),
                ('hour', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scan_visitor_hour', 'app': 'hub', 'unique_together': (('code_id', 'visitor_id', 'hour'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoreLogo',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.OneToOneField('hub.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('png', fields.BinaryField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'store_logo', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Visitor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('visitor_id', fields.CharField(unique=True, max_length=40)),
                ('customer_id', fields.BigIntField(null=True, db_index=True)),
                ('first_code_id', fields.IntField(null=True)),
                ('first_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('first_attribution', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('last_code_id', fields.IntField(null=True)),
                ('last_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_attribution', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'visitor', 'app': 'hub', 'indexes': [Index(fields=['first_code_id', 'first_at']), Index(fields=['last_code_id', 'last_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
