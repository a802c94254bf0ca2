from tortoise import migrations
from hub.auth.models import Role
from hub.migration_ops import AlterEnumMembers
from tortoise.migrations import operations as ops
import functools
from coupons.issue_runs.models import IssueRunStatus
from coupons.reminders.models import ReminderOutcome
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hub', '0007_coupon_issue_rules_and_gifting')]

    initial = False

    operations = [
        # A new API key role for the order center; the api_key table itself does not change.
        AlterEnumMembers(
            model_name='ApiKey',
            name='role',
            field=fields.CharEnumField(description='STAFF: staff\nSTORE_MANAGER: store_manager\nOPS: ops\nADMIN: admin\nSTRATEGY_ENGINE: strategy_engine\nCARRIER_APP: carrier_app\nPOS: pos\nORDER_CENTER: order_center', enum_type=Role, max_length=20),
        ),
        ops.CreateModel(
            name='CouponIssueRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('hub.CouponBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('offer_ref', fields.CharField(max_length=64)),
                ('channel', fields.CharField(max_length=16)),
                ('total', fields.IntField()),
                ('status', fields.CharEnumField(default=IssueRunStatus.RUNNING, description='RUNNING: running\nDONE: done', enum_type=IssueRunStatus, max_length=16)),
                ('created_by', fields.ForeignKeyField('hub.ApiKey', source_field='created_by_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'coupon_issue_run', 'app': 'hub', 'unique_together': (('batch', 'offer_ref'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CouponIssueResult',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('hub.CouponIssueRun', source_field='run_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('customer_id', fields.BigIntField()),
                ('outcome', fields.CharField(max_length=128)),
                ('coupon', fields.ForeignKeyField('hub.Coupon', source_field='coupon_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'coupon_issue_result', 'app': 'hub', 'unique_together': (('run', 'customer_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CouponReminder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('coupon', fields.OneToOneField('hub.Coupon', source_field='coupon_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(default='', max_length=16)),
                ('outcome', fields.CharEnumField(description='SENT: sent\nSUPPRESSED: suppressed\nFAILED: failed', enum_type=ReminderOutcome, max_length=16)),
                ('reason', fields.CharField(default='', max_length=255)),
                ('staff', fields.ForeignKeyField('hub.Staff', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('provider_ref', fields.CharField(default='', max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'coupon_reminder', 'app': 'hub', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('batch', fields.ForeignKeyField('hub.CouponBatch', source_field='batch_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(max_length=128)),
                ('coupon', fields.ForeignKeyField('hub.Coupon', source_field='coupon_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'coupon_partner_code', 'app': 'hub', 'unique_together': (('batch', 'code'),), 'indexes': [Index(fields=['batch_id', 'coupon_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ContactWay',
            name='welcome_coupon_batch_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Coupon',
            name='partner_code',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Coupon',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Coupon',
            index=Index(fields=['state', 'valid_until']),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='discount_given_fen',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='product_ids',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='region_ids',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='remind_days_before',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='CouponBatch',
            name='valid_start_days',
            field=fields.IntField(default=0),
        ),
        # The coupons the expiry reminder still has to look at: held and never reminded. A partial index
        # (PostgreSQL and SQLite alike), written by hand because Tortoise's models cannot declare one, so the
        # reminder's walk skips the coupons it already reminded. A rebuild of the coupon table on SQLite
        # would drop it: re-create it in the migration that rebuilds the table.
        ops.RunSQL(
            "CREATE INDEX IF NOT EXISTS coupon_unreminded_by_expiry ON coupon (valid_until) "
            "WHERE reminded_at IS NULL AND state IN ('issued', 'claimed')",
            reverse_sql="DROP INDEX IF EXISTS coupon_unreminded_by_expiry",
        ),
    ]
