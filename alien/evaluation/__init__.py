"""Turning metrics into decisions and documents: the promotion gates, the plots, the
run summary and the model card. Pure functions over dictionaries and arrays.

May import: ``alien.metrics``, ``alien.selective``, ``alien.config`` (gate thresholds),
``alien.assets`` and ``alien.task``; never tracking or stages.
"""
