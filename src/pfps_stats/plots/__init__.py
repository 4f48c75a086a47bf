"""The plots layer: every figure, drawn on ``ax`` (default the current Axes) and returned.

- ``theme``: the palette and :func:`set_theme`; one colour per kind of series;
- ``forest``: the one forest renderer (:func:`draw_forest`) and :func:`plot_forest`;
- ``effects``: predicted-risk curves; ``performance``: calibration and ROC;
- ``distributions``: a factor by outcome, missing values, correlations;
- ``imputation``: observed against imputed values of a multiple imputation;
- ``funnel``: the funnel plot of a meta-analysis;
- ``training``: weekly distance before PFP onset, injury rates by spike state.

Imports from the cohort, exposures and models layers only.
"""
