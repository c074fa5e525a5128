"""events, prediction_log and outcomes

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _sorted_text() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _sequence() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", _sorted_text(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("touchpoint", _sorted_text(), nullable=False),
        sa.Column("channel", _sorted_text(), nullable=False),
        sa.Column("stage", sa.String(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("ingested_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("customer_id", "event_id", name="uq_events_customer_id_event_id"),
    )
    op.create_index("ix_events_customer_id_ts_ns", "events", ["customer_id", "ts_ns"])
    op.create_index("ix_events_ts_ns", "events", ["ts_ns"])

    op.create_table(
        "prediction_log",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("customer_id", _sorted_text(), nullable=False),
        sa.Column("as_of_ns", sa.BigInteger(), nullable=False),
        sa.Column("model_versions", sa.Text(), nullable=False),
        sa.Column("feature_fingerprint", sa.String(), nullable=False),
        sa.Column("probabilities", sa.Text(), nullable=False),
        sa.Column("top_causes", sa.Text(), nullable=False),
        sa.Column("events_hash", sa.String(), nullable=False),
        sa.Column("n_events", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_prediction_log"),
        sa.UniqueConstraint("request_id", "item", name="uq_prediction_log_request_id_item"),
    )
    op.create_index(
        "ix_prediction_log_customer_id_created_at_ns",
        "prediction_log",
        ["customer_id", "created_at_ns"],
    )
    op.create_index(
        "ix_prediction_log_project_created_at_ns", "prediction_log", ["project", "created_at_ns"]
    )

    op.create_table(
        "outcomes",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", _sorted_text(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_outcomes"),
        sa.UniqueConstraint(
            "customer_id",
            "task",
            "outcome",
            "ts_ns",
            name="uq_outcomes_customer_id_task_outcome_ts_ns",
        ),
    )
    op.create_index("ix_outcomes_task_ts_ns", "outcomes", ["task", "ts_ns"])


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_table("prediction_log")
    op.drop_table("events")
