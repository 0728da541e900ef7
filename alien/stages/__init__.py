"""Pipeline stages: each module has ``run(<its params sections>, paths) -> StageResult`` and ``main``.

:mod:`alien.stages.pipeline` is the stage table (module, params, data deps and
outputs of each stage); ``dvc.yaml`` is generated from it and runs
``python -m alien.stages.<name> --params params.yaml``; ``tasks/`` wraps the
same ``run`` functions for Prefect. Files one stage writes and another reads
go through :mod:`alien.stages.artifacts`; DVC bookkeeping is in
:mod:`alien.stages.versioning` and :mod:`alien.stages.incremental`. Outputs are
written atomically, so a failed stage leaves the previous outputs intact.

May import every library layer (config, core, data, training, metrics,
baselines, evaluation, backbones; tracking only in ``gate`` and ``register``).
No stage module imports another stage module.
"""
