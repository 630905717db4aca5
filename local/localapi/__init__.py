"""A Docker-free stand-in for `sam local start-api`, driven by template.yaml.

Never deployed: it lives outside `src/`, the functions' CodeUri.
"""
