"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS): what JSON Schema cannot say.

`format: date` alone allows any date; the contract also wants it strictly before
today (UTC), so schema-valid ("positive") cases draw only such dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import schemathesis
from hypothesis import strategies as st

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)

schemathesis.openapi.format("date", st.dates(min_value=date(1, 1, 1), max_value=YESTERDAY).map(date.isoformat))
