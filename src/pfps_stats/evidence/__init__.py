"""The evidence layer: the registry of published estimates (package data), effect sizes as
metafor's escalc, random-effects meta-analysis as metafor's rma, and a local cohort beside
the published estimates.

Imports from the cohort, models and plots layers.
"""
