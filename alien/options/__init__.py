"""The options of the library's procedures, as frozen, checked, torch-free pydantic dataclasses.

Each default and each check lives here once: :class:`~alien.options.align.GridSearch`
(the alignment grid of :func:`alien.training.fit_alien`),
:class:`~alien.options.finetune.FinetuneOptions` (:func:`alien.backbones.finetune.finetune`)
and the names of the baseline and calibration registries (:mod:`alien.options.names`).
The library takes them from a notebook as they are; ``alien.config`` builds
``params.yaml``'s sections on them. Imports nothing of ``alien`` (a bottom layer)
and no torch, so reading ``params.yaml`` stays cheap.
"""
