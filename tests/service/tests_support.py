"""Helpers shared by the service tests (re-exported from the identical-to-offline test)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_scoring_identical import cutoffs_for, same

__all__ = ["cutoffs_for", "same"]
