"""Helpers the tests share: the day-stepping oracle, event loading, the local API process."""
