"""Deployment tooling that runs in the build, never in Lambda: the pipeline's stack settings."""
