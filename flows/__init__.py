"""Prefect flows (the nightly retraining job), its deployment, and the ``alien`` CLI."""
