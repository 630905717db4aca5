"""Helpers the tests share: event loading, the local API process, fake stores (the day-stepping oracle is `loadtest/oracle.py`)."""
