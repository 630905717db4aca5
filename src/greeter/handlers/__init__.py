"""Lambda entry points: wire, resolve, return. No rules live here.

Every handler module is imported through this package, so its `__init__` runs
first in a cold start, and readies the init phase for it:

- it defers the `__init__` of Powertools' event handler and event data classes
  (greeter.lazy_packages), which import every resolver and event class
  Powertools has; a handler needs one of each;
- it pauses the garbage collector. The init phase creates about 90,000 objects
  (modules, the botocore client and its models) that live as long as the
  execution environment; collecting while they are created frees almost
  nothing. Each handler module ends with `init_done()`, which freezes them
  (later collections skip them, so no full collection in a warm invocation
  walks them) and turns the collector back on.

What each saves is in docs/performance.md ("Cold start at the floor").
"""

import gc

from greeter.lazy_packages import defer_package_init

POWERTOOLS_PACKAGES_DEFERRED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")

gc.disable()
for _package in POWERTOOLS_PACKAGES_DEFERRED:
    defer_package_init(_package)


def init_done() -> None:
    """The handler module's last line: what init created stays, so the collector skips it from now on."""
    gc.freeze()
    gc.enable()
