"""Prefect tasks: thin wrappers around the stage functions in :mod:`alien.stages`."""
