"""Lambda entry points: wire, resolve, return. No rules live here."""
