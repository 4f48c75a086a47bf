"""The plots layer: every figure, drawn on ``ax`` (default the current Axes) and returned.

- ``theme``: the palette and :func:`set_theme`; one colour per kind of series;
- ``forest``: the one forest renderer (:func:`draw_forest`) and :func:`plot_forest`;
- ``effects``: predicted-risk curves; ``performance``: calibration and ROC;
- ``distributions``: a factor by outcome, missing values, correlations;
- ``funnel``: the funnel plot of a meta-analysis.

Imports from the cohort and models layers only.
"""
