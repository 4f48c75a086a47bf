"""The evidence layer: effect sizes, meta-analysis, and (to come) the registry of the cited
studies and the comparison of a local cohort with them."""
