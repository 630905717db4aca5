"""`make bench`: the performance budget, measured on this machine. Never deployed.

It lives outside `src/` (the functions' CodeUri), like the local API.
"""
