"""The eight pipeline stages: each module has ``run(<its params sections>, paths) -> StageResult`` and ``main``.

The machinery around them lives in :mod:`alien.pipeline`: the stage table
(:mod:`alien.pipeline.table`: module, params, data deps and outputs of each
stage), the ``dvc.yaml`` generator, the shared command line, DVC bookkeeping,
the run lock and pre-flight. ``dvc.yaml`` runs ``python -m alien.stages.<name>
--params params.yaml``; ``tasks/`` wraps the same ``run`` functions for Prefect.
Files one stage writes and another reads go through :mod:`alien.stages.artifacts`.
Outputs are written atomically, so a failed stage leaves the previous outputs intact.

May import every library layer (config, core, data, training, metrics,
baselines, evaluation, backbones, pipeline; tracking only in ``gate`` and ``register``).
No stage module imports another stage module, and none reads ``params.yaml`` itself:
a stage gets exactly the sections its table row declares.
"""
