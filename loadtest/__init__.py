"""Load tests for the greeter: a locust workload, the runner behind `make loadtest` and
`make check-deployment`, and the report they print and plot.

Local-only code, like the local API: it never ships in the Lambda package (src/). Only
`locustfile.py` imports locust, which monkey-patches the standard library with gevent; the
other modules stay importable from pytest and from the runner's own process.
"""
