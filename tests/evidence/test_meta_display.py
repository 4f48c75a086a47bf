"""A MetaResult in JupyterLab: its rich HTML."""

import numpy as np

import pfps_stats as ps


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
    for text in ("estimate (95% CI)", "τ² (95% CI)", "I² (%)", "Q (3 df)", "Q p-value"):
        assert text in html
    assert f"{meta.estimate:.2f} ({meta.ci_low:.2f}, {meta.ci_high:.2f})" in html
    assert "A &lt;x&gt;" in html
    assert "<x>" not in html
    assert "4 studies" in html
    one = single._repr_html_()
    assert "1 study" in one
    assert "nan" not in one.lower()
