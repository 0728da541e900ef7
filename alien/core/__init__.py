"""The method itself: the ALIEN head, how it is built from a classifier, the feature
capture that feeds it, cached feature sets, and the deployable classifier with its
calibration map and abstention rule.

May import: ``alien.task``, ``alien.assets``, ``alien.calibration``, ``alien.selective``
and ``alien.metrics`` (the layering test holds it to that); never config, stages,
tracking or any runner. A notebook user needs nothing else to train and serve a head.
"""
