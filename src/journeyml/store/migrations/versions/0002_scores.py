"""scores: the tables of scheduled scoring runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _sorted_text() -> sa.types.TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _sequence() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("seq", _sequence(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("customer_id", _sorted_text(), nullable=False),
        sa.Column("task", sa.String(), nullable=False),
        sa.Column("as_of_ns", sa.BigInteger(), nullable=False),
        sa.Column("probability", sa.Double(), nullable=False),
        sa.Column("predicted", sa.String(), nullable=True),
        sa.Column("percentile", sa.Double(), nullable=False),
        sa.Column("top_causes", sa.Text(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_scores"),
        sa.UniqueConstraint(
            "run_id", "customer_id", "task", name="uq_scores_run_id_customer_id_task"
        ),
    )
    op.create_index("ix_scores_project_created_at_ns", "scores", ["project", "created_at_ns"])
    op.create_index("ix_scores_customer_id", "scores", ["customer_id"])


def downgrade() -> None:
    op.drop_table("scores")
