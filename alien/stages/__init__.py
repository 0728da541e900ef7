"""Pipeline stages: each module has ``run(<its config sections>, paths) -> Result`` and a ``main()``.

``dvc.yaml`` runs ``python -m alien.stages.<name> --params params.yaml``;
``tasks/`` wraps the same ``run`` functions for Prefect. Outputs are written
atomically, so a failed stage leaves the previous outputs intact.
"""
