"""The models layer: logistic models of who develops PFP, and Cox models of when.

- ``design``: the formula language and the read-only :class:`Design` of a model;
- ``engine``: pure-ndarray Newton, Firth, profile-likelihood and batched bootstrap fits;
- ``logistic``: :func:`fit_logistic` and the immutable :class:`LogisticFit`;
- ``tables``: the univariable + multivariable odds-ratio table;
- ``performance``: AUC, ROC curve, calibration, Hosmer-Lemeshow, bootstrap validation;
- ``cox``: :func:`fit_cox` on counting-process rows (time-varying exposures) and the
  immutable :class:`CoxFit`, checked against R's ``survival::coxph``;
- ``rates``: injury rates per 1,000 km and per 1,000 hours with exact Poisson intervals.

Imports only from the cohort and exposures layers.
"""
