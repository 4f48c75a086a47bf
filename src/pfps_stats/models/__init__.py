"""The models layer: logistic models of who develops PFP.

- ``design``: the formula language and the read-only :class:`Design` of a model;
- ``engine``: pure-ndarray Newton, Firth, profile-likelihood and batched bootstrap fits;
- ``logistic``: :func:`fit_logistic` and the immutable :class:`LogisticFit`;
- ``tables``: the univariable + multivariable odds-ratio table;
- ``performance``: AUC, ROC curve, calibration, Hosmer-Lemeshow, bootstrap validation.

Imports only from the cohort layer.
"""
