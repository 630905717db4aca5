"""`make sam-local`: the real `sam local start-api` and `sam local invoke` on a local Docker engine, offline.

images.py provisions the images once (the real AWS images when the engine
has them or can pull them, otherwise stand-ins built here); stack.py runs one
isolated set of containers per run and removes all of it when the run ends.
Driven through the Docker SDK for Python, so neither `docker compose` nor
`docker-compose` is needed.
"""
