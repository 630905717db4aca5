"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS): what JSON Schema cannot say.

`format: date` alone allows any date; the contract also wants it strictly before
the user's today, so schema-valid ("positive") cases draw dates at least two
days back (today in UTC-12 may be yesterday in UTC). `format: iana-time-zone`
draws from the zones the service accepts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import schemathesis
from hypothesis import strategies as st

from greeter.domain import time_zone_names

BEFORE_TODAY_EVERYWHERE = datetime.now(UTC).date() - timedelta(days=2)

schemathesis.openapi.format(
    "date", st.dates(min_value=date(1, 1, 1), max_value=BEFORE_TODAY_EVERYWHERE).map(date.isoformat)
)
schemathesis.openapi.format("iana-time-zone", st.sampled_from(sorted(time_zone_names())))
