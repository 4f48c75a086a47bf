"""Figures of the risk-factor report as the notebook draws them: no panel, legend, label or
tick runs over another panel or out of the figure (issue 15, item 4); a table beside its
figure in one block that wraps on a narrow page."""

import base64
import re
import warnings

import matplotlib
import matplotlib.pyplot as plt
import pytest

import pfps_stats as ps
from pfps_stats import report

matplotlib.use("Agg")

FACTORS = ["knee_ext_strength_nmkg", "hip_abd_strength_nkg", "q_angle_deg", "bmi", "sex"]


@pytest.fixture(scope="module")
def fit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cohort = ps.load_demo_cohort()
        return ps.fit_logistic(cohort, ps.additive_formula(cohort, "pfp", FACTORS))


@pytest.fixture(autouse=True)
def theme():
    ps.set_theme()  # as every report notebook does: the sizes of its text
    yield
    plt.close("all")
    matplotlib.rcdefaults()


def _boxes(fig):
    """Each Axes' extent on the canvas with everything it draws (labels, ticks, title,
    legend), after the canvas is drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        legend = ax.get_legend()
        parts = [box] + ([legend.get_window_extent(renderer)] if legend is not None else [])
        boxes.append((ax, parts))
    return boxes


def _assert_no_overlap(fig, tolerance=1.0):
    bounds = fig.bbox
    boxes = _boxes(fig)
    for ax, parts in boxes:
        for box in parts:
            inside_x = box.x0 >= bounds.x0 - tolerance and box.x1 <= bounds.x1 + tolerance
            inside_y = box.y0 >= bounds.y0 - tolerance and box.y1 <= bounds.y1 + tolerance
            assert inside_x, f"{ax.get_xlabel()!r}: out of the figure sideways ({box})"
            assert inside_y, f"{ax.get_xlabel()!r}: out of the figure at the top or bottom ({box})"
    for i, (ax, parts) in enumerate(boxes):
        for other, other_parts in boxes[i + 1 :]:
            for a in parts:
                for b in other_parts:
                    overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
                    overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
                    assert overlap_x <= tolerance or overlap_y <= tolerance, (
                        f"{ax.get_xlabel()!r} overlaps {other.get_xlabel()!r}"
                    )


def _assert_legend_covers_no_data(ax):
    """The legend lies outside the plotting area, so that it hides no point or line."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    area = ax.get_window_extent(renderer)
    assert legend.y1 <= area.y0, "the legend is under the axes"


def test_calibration_and_roc_as_the_report_draws_them(fit):
    curve = ps.calibrate_bootstrap(fit, n_boot=5, seed=1)
    calibration, roc = report.performance_figures(fit, curve=curve)
    for fig in (calibration, roc):
        _assert_no_overlap(fig)
        _assert_legend_covers_no_data(fig.axes[0])
        width, _ = fig.get_size_inches()
        assert width * 100 <= 560, "two fit side by side at 1280 px, one at 800 px"
    texts = [t.get_text() for t in calibration.axes[0].get_legend().get_texts()]
    assert "bias-corrected (bootstrap)" in texts
    assert roc.axes[0].get_ylabel() == "Sensitivity (true-positive rate)"


def test_the_same_panels_side_by_side_in_one_figure_do_not_overlap(fit):
    """Drawn by hand in one figure as the notebook once did (two panels, 11 x 4.5 inches,
    constrained layout): the legends sit under their own axes."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    ps.plot_calibration(fit, ax=left)
    ps.plot_roc(fit, ax=right)
    _assert_no_overlap(fig)


def test_effect_curves_as_the_report_draws_them(fit):
    fig = report.effects_figure(fit, FACTORS)
    assert len(fig.axes) == 4, "one panel per numeric factor; sex has no curve"
    assert [ax.get_xlabel() for ax in fig.axes] == [ps.label(v) for v in FACTORS if v != "sex"]
    _assert_no_overlap(fig)
    width, _ = fig.get_size_inches()
    assert width * 100 <= 900, "two panels a row: read at its own size on a narrow page"
    ticks = [t.get_text() for t in fig.axes[2].get_yticklabels() if t.get_text()]
    assert all(re.fullmatch(r"\d+(\.\d+)?%", t) for t in ticks), ticks
    with pytest.raises(ValueError, match="no numeric variable"):
        report.effects_figure(fit, ["sex"])


def test_a_table_beside_its_figure_in_one_wrapping_block():
    meta = ps.meta_analysis([0.05, -0.85, -0.35], [0.02, 0.015, 0.018], test="knha")
    ax = meta.plot_forest(ax=plt.subplots(figsize=(5.5, 2.8))[1])
    number = ax.figure.number
    block = report.side_by_side(meta.summary_table(), ax).data
    assert 'style="display:flex;flex-wrap:wrap' in block
    assert block.count("max-width:100%") >= 3, "neither item is wider than the page"
    assert "Estimate (95% CI)" in block
    assert "τ²" in block
    source = re.search(r'src="data:image/png;base64,([^"]+)"', block).group(1)
    assert base64.b64decode(source).startswith(b"\x89PNG")
    width = int(re.search(r'<img [^>]*width="(\d+)"', block).group(1))
    assert 450 <= width <= 600, "shown at the size Jupyter shows the figure"
    assert not plt.fignum_exists(number), "closed: the notebook does not show it twice"
    assert report.side_by_side(None, "<p>x</p>").data.count("<p>x</p>") == 1
    with pytest.raises(TypeError, match="side_by_side shows"):
        report.side_by_side(42)


def test_the_check_finds_a_legend_under_the_neighbouring_panel(fit):
    """The check is not vacuous: the old layout (legend to the right of the calibration
    panel, no constrained layout: it runs under the ROC panel, and the x labels are cut at
    the bottom) is caught."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    ps.plot_calibration(fit, ax=left)
    left.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    ps.plot_roc(fit, ax=right)
    with pytest.raises(AssertionError, match="out of the figure"):
        _assert_no_overlap(fig)
    fig.subplots_adjust(bottom=0.3, top=0.95)  # room below: the overlap alone is left
    with pytest.raises(AssertionError, match="overlaps"):
        _assert_no_overlap(fig)


def test_imputation_diagnostics_panels_do_not_overlap():
    """Two panels a row (read at its own size on an 800 px page), short titles: no title
    runs over its neighbour's."""
    import numpy as np

    data = ps.simulate_cohort(200, subgroup="military", seed=1)
    for column in ("bmi", "q_angle_deg", "hip_abd_strength_nkg", "knee_ext_strength_nmkg"):
        data.loc[data.sample(12, random_state=len(column)).index, column] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputed = ps.impute(data, m=2, max_iter=1, seed=7)
    axes = ps.plot_imputation_diagnostics(imputed)
    fig = axes[0].figure
    assert fig.get_size_inches()[0] * 100 <= 950
    _assert_no_overlap(fig)
