"""Lambda entry points: wire, resolve, return. No rules live here.

Every handler module is imported through this package, so its `__init__` runs
first in a cold start: it defers the `__init__` of Powertools' event handler
and event data classes (greeter.lazy_packages), which import every resolver
and event class Powertools has; a handler needs one of each. What that saves
is in docs/performance.md ("Cold start at the floor").
"""

from greeter.lazy_packages import defer_package_init

POWERTOOLS_PACKAGES_DEFERRED = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")

for _package in POWERTOOLS_PACKAGES_DEFERRED:
    defer_package_init(_package)
