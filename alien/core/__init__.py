"""The method itself: the ALIEN head, how it is built from a classifier, the feature
capture that feeds it, cached feature sets, and the deployable classifier.

May import: ``alien.task`` and ``alien.metrics``; never config, stages, tracking or
any runner. A notebook user needs nothing else to train and serve a head.
"""
