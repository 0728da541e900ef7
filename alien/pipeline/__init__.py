"""The pipeline machinery around the stages (the stages themselves are :mod:`alien.stages`).

- :mod:`alien.pipeline.table`: THE stage table (``STAGES``): each stage's module,
  params, data deps and outputs; :func:`~alien.pipeline.table.stage_runner` runs one.
- :mod:`alien.pipeline.dvc_yaml`: ``dvc.yaml`` generated from the table
  (``python -m alien.pipeline.dvc_yaml --write-dvc-yaml | --check``).
- :mod:`alien.pipeline.cli`: the stages' shared result base and command line.
- :mod:`alien.pipeline.incremental`, :mod:`alien.pipeline.versioning`: DVC decides
  what is unchanged for the Prefect runner too; one ``dvc.lock``.
- :mod:`alien.pipeline.run_lock`: one run per project folder at a time.
- :mod:`alien.pipeline.preflight`: refuse bad input before any expensive stage.

The table names stages by module name only and imports them lazily, so this
package never imports :mod:`alien.stages` (the stages import :mod:`alien.pipeline.cli`).
Never imports Prefect.
"""
