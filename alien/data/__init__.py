"""Data: sources (packaged, local, hub), validation, stable splits, and prepared-split readers.

Import the module you need (``alien.data.io``, ``alien.data.dataset``, ``alien.data.sources``…):
the package itself imports nothing, so reading a JSON report does not load pandas.
"""
