"""Tenants' Twilio auth tokens and status-callback secrets sealed (store/telephony_secrets.py).

Needs the IVR's secrets key (CALLCENTER_IVR_SECRETS_KEY or _FILE, as the service) when
there are secrets to seal or, going down, to open.
"""

import sqlalchemy as sa
from alembic import op

from callcenter.ivr.settings import Settings
from callcenter.ivr.store import telephony_secrets

revision = "0010"
down_revision = "0009"

SECRETS = telephony_secrets.SECRET_COLUMNS
rows = sa.table("ivr_telephony", sa.column("tenant"), *(sa.column(column) for column in SECRETS))


def upgrade() -> None:
    with op.batch_alter_table("ivr_telephony") as batch:
        for column in SECRETS:
            batch.alter_column(column, type_=sa.String(400), existing_type=sa.String(200))
    _rewrite(telephony_secrets.seal, lambda value: not value.startswith(telephony_secrets.SEALED))


def downgrade() -> None:
    _rewrite(telephony_secrets.unseal, lambda value: value.startswith(telephony_secrets.SEALED))
    with op.batch_alter_table("ivr_telephony") as batch:
        for column in SECRETS:
            batch.alter_column(column, type_=sa.String(200), existing_type=sa.String(400))


def _rewrite(convert, needs_it) -> None:  # type: ignore[no-untyped-def]
    conn = op.get_bind()
    key = None  # resolved only when there is something to convert
    for row in conn.execute(sa.select(rows)).all():
        stored = {column: getattr(row, column) for column in SECRETS}
        todo = {column: value for column, value in stored.items() if value and needs_it(value)}
        if todo:
            key = key or telephony_secrets.secrets_key(Settings())
            converted = {column: convert(key, row.tenant, column, v) for column, v in todo.items()}
            conn.execute(sa.update(rows).where(rows.c.tenant == row.tenant).values(converted))
