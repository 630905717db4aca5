"""Helpers the tests share: events, the local API process, fake stores (the oracle is `loadtest/oracle.py`)."""
