"""The evidence layer: the registry of published estimates (package data), effect sizes as
metafor's escalc, random-effects meta-analysis as metafor's rma, a local cohort beside the
published estimates (``compare``), and local hazard ratios of training-load spikes beside
Frandsen 2025 and Nielsen 2014 (``hazards``).

Imports from the cohort, exposures, models and plots layers.
"""
