"""A MetaResult in JupyterLab: its rich HTML."""

import numpy as np

import pfps_stats as ps
from pfps_stats import report


def test_meta_result_renders_as_html_with_readable_names():
    """In JupyterLab a MetaResult shows a one-row summary with readable names and the
    studies' table; labels are escaped; k = 1 shows dashes, not NaN."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = ps.meta_analysis(
            np.array([0.2, 0.5, -0.1, 0.4]),
            np.array([0.04, 0.02, 0.05, 0.03]),
            labels=["A <x>", "B", "C", "D"],
        )
        single = ps.meta_analysis(np.array([0.2]), np.array([0.04]))
    html = meta._repr_html_()
    for text in ("Estimate (95% CI)", "τ² (95% CI)", "I² (%)", "Q (3 df)", "Q p-value"):
        assert text in html
    assert f"{meta.estimate:.2f} ({meta.ci_low:.2f}, {meta.ci_high:.2f})" in html
    assert "A &lt;x&gt;" in html
    assert "<x>" not in html
    assert "4 studies" in html
    one = single._repr_html_()
    assert "1 study" in one
    assert "nan" not in one.lower()


def test_summary_table_is_one_row_with_readable_names_and_journal_p_values():
    """The report shows the pooled result as one row beside its forest plot: readable
    names, text cells, p-values as journals print them; k = 1 gives dashes, not NaN."""
    import re
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta = ps.meta_analysis(
            np.array([0.05, -0.85, -0.35]), np.array([0.02, 0.015, 0.018]), test="knha"
        )
        single = ps.meta_analysis(np.array([0.2]), np.array([0.04]))
    table = meta.summary_table()
    assert len(table) == 1
    assert list(table.columns) == [
        "k",
        "Estimate (95% CI)",
        "95% prediction interval",
        "p",
        "τ² (95% CI)",
        "I² (%)",
        "Q (2 df)",
        "Q p-value",
    ]
    row = table.iloc[0]
    assert row["k"] == "3"
    assert row["Estimate (95% CI)"] == (
        f"{meta.estimate:.2f} ({meta.ci_low:.2f}, {meta.ci_high:.2f})"
    )
    assert meta.q_p < 0.001
    assert row["Q p-value"] == "<0.001"
    assert row["p"] == report.format_p_value(meta.p_value)
    assert re.fullmatch(r"0\.\d\d|<0\.001|>0\.99|0\.0\d\d+", row["p"]), "two significant digits"
    assert not any("_" in c for c in table.columns), "no field names"
    one = single.summary_table().iloc[0]
    assert one["95% prediction interval"] == "-"
    assert one["Q p-value"] == "-"
    assert "nan" not in " ".join(map(str, one)).lower()
