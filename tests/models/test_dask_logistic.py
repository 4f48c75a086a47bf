"""fit_logistic on Dask DataFrames: the same fit as in memory (coefficients, standard errors,
plain and CR1-clustered, odds ratios, dropped rows), and clear refusals of what needs the rows
in memory or would give wrong answers on partitions. One LocalCluster for the module.

The data are SYNTHETIC runner-weeks with a known model; the in-memory fit
(``ps.fit_logistic`` on the same rows, statsmodels underneath) is the reference.
"""

from __future__ import annotations

import warnings

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import pfps_stats as ps
from pfps_stats.models.logistic import ODDS_RATIO_COLUMNS

FORMULA = "pfp ~ weekly_km + spike + bmi + C(sex) + surface + np.log(weekly_km)"
TOL = {"rtol": 1e-8, "atol": 1e-10}


def runner_weeks(n_runners: int = 240, weeks: int = 15, seed: int = 3) -> pd.DataFrame:
    """SYNTHETIC runner-weeks: logit P(pfp) = -3 + 0.02 km + 0.6 spike + 0.05 (bmi - 23)
    + 0.3 male; a few missing BMIs and surfaces."""
    rng = np.random.default_rng(seed)
    runner = np.repeat(np.arange(n_runners), weeks)
    n = len(runner)
    bmi = np.repeat(rng.normal(23, 3, n_runners), weeks)
    sex = np.repeat(rng.choice(["F", "M"], n_runners), weeks)
    km = rng.gamma(4.0, 8.0, n)
    spike = (rng.random(n) < 0.2).astype(np.int64)
    surface = rng.choice(["road", "trail", "track"], n).astype(object)
    eta = -3 + 0.02 * km + 0.6 * spike + 0.05 * (bmi - 23) + 0.3 * (sex == "M")
    pfp = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    data = pd.DataFrame(
        {
            "runner_id": runner,
            "weekly_km": km,
            "spike": spike,
            "bmi": bmi,
            "sex": sex,
            "surface": surface,
            "pfp": pfp,
            "data_source": "SYNTHETIC",
        }
    )
    data.loc[[3, 4, 700, 1500], "bmi"] = np.nan
    data.loc[[4, 900], "surface"] = None
    return data


def pieces(data: pd.DataFrame, n: int = 4) -> list[pd.DataFrame]:
    """The rows in n pieces, whole runners in each."""
    groups = np.array_split(data["runner_id"].unique(), n)
    return [data[data["runner_id"].isin(g)] for g in groups]


def from_pieces(parts: list[pd.DataFrame], meta: pd.DataFrame | None = None) -> dd.DataFrame:
    meta = parts[0].iloc[:0] if meta is None else meta
    return dd.from_delayed([dask.delayed(p) for p in parts], meta=meta, verify_meta=False)


def fit_both(ddf, data, formula=FORMULA, **kwargs):
    """The Dask fit and the in-memory fit of the same rows, with their warnings' texts."""
    with warnings.catch_warnings(record=True) as caught_dask:
        warnings.simplefilter("always")
        dask_fit = ps.fit_logistic(ddf, formula, **kwargs)
    with warnings.catch_warnings(record=True) as caught_memory:
        warnings.simplefilter("always")
        memory_fit = ps.fit_logistic(data, formula, **kwargs)
    texts = [
        [str(w.message) for w in caught if issubclass(w.category, ps.ModelWarning)]
        for caught in (caught_dask, caught_memory)
    ]
    return dask_fit, memory_fit, texts


@pytest.fixture(scope="module")
def data():
    return runner_weeks()


@pytest.fixture(scope="module")
def parquet_ddf(data, tmp_path_factory):
    """The data written as 4 Parquet files (whole runners in each), read back by Dask."""
    folder = tmp_path_factory.mktemp("SYNTHETIC_runner_weeks")
    for i, piece in enumerate(pieces(data)):
        piece.to_parquet(folder / f"part-{i}.parquet", index=False)
    ddf = dd.read_parquet(str(folder))
    assert ddf.npartitions == 4
    assert not ddf.known_divisions
    return ddf


def assert_same_fit(dask_fit, memory_fit):
    assert dask_fit.columns == memory_fit.columns
    assert_allclose(dask_fit.params_, memory_fit.params_, **TOL)
    assert_allclose(dask_fit.bse_, memory_fit.bse_, **TOL)
    assert_allclose(dask_fit.cov_, memory_fit.cov_, rtol=1e-8, atol=1e-12)
    assert dask_fit.loglik_ == pytest.approx(memory_fit.loglik_, rel=1e-10)
    for name in ("n_obs", "n_events", "n_dropped", "epv"):
        assert getattr(dask_fit, name) == getattr(memory_fit, name), name
    ours, theirs = dask_fit.odds_ratios(ci="wald"), memory_fit.odds_ratios(ci="wald")
    assert list(ours.columns) == list(theirs.columns) == ODDS_RATIO_COLUMNS
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-8)


def test_parquet_fit_equals_the_in_memory_fit(dask_client, data, parquet_ddf):
    dask_fit, memory_fit, (dask_notes, memory_notes) = fit_both(parquet_ddf, data)
    assert_same_fit(dask_fit, memory_fit)
    # rows with a missing value are dropped and counted, as in memory, with the same note
    assert dask_fit.n_dropped == 5
    assert dict(dask_fit.dropped) == {"bmi": 4, "surface": 2}
    assert dask_notes == memory_notes
    assert any("dropped 5 of 3600 rows" in n for n in dask_fit.notes)
    assert dask_fit.n_partitions == 4
    assert dask_fit.n_passes >= dask_fit.n_iter + 2
    new = data.iloc[:50]
    pd.testing.assert_frame_equal(
        dask_fit.predict_proba(new), memory_fit.predict_proba(new), check_exact=False, rtol=1e-8
    )
    for per in ("sd", {"weekly_km": 10}):
        pd.testing.assert_frame_equal(
            dask_fit.odds_ratios(per=per),
            memory_fit.odds_ratios(ci="wald", per=per),
            check_exact=False,
            rtol=1e-8,
        )


def test_clustered_fit_equals_the_in_memory_cr1_fit(dask_client, data, parquet_ddf):
    dask_fit, memory_fit, _ = fit_both(parquet_ddf, data, cluster="runner_id")
    assert memory_fit.cluster["covariance"] == "CR1"
    assert_same_fit(dask_fit, memory_fit)
    for key in ("column", "n_clusters", "covariance", "df_method", "test"):
        assert dask_fit.cluster[key] == memory_fit.cluster[key], key
    assert dask_fit.cluster["partition_check"] == "cluster ids"
    # robust and model-based SEs differ: the clustering is used, not ignored
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ModelWarning)
        plain = ps.fit_logistic(data, FORMULA)
    assert not np.allclose(plain.bse_, dask_fit.bse_, rtol=1e-3)


def test_cluster_as_sorted_index_and_categorical_dtypes(dask_client, data):
    """runner_id as the index (known divisions: no cluster can span partitions), a
    categorical with an unused level, a bool, and a partition whose outcome is all 0."""
    frame = data.assign(
        sex=pd.Categorical(data["sex"], categories=["X", "M", "F"]),  # "X" never used
        long_run=data["weekly_km"] > 40,
    )
    first_cut = dd.from_pandas(frame.set_index("runner_id"), npartitions=3).divisions[1]
    frame.loc[frame["runner_id"] < first_cut, "pfp"] = 0  # the first partition has no event
    ddf = dd.from_pandas(frame.set_index("runner_id"), npartitions=3)
    assert ddf.known_divisions
    assert ddf.divisions[1] == first_cut
    assert ddf.partitions[0]["pfp"].sum().compute() == 0
    formula = "pfp ~ weekly_km + C(sex) + long_run + surface:spike"
    dask_fit, memory_fit, _ = fit_both(ddf, frame, formula, cluster="runner_id")
    assert "C(sex)[T.F]" in dask_fit.columns
    assert "C(sex)[T.X]" not in dask_fit.columns
    assert_same_fit(dask_fit, memory_fit)
    assert dask_fit.cluster["partition_check"] == "cluster ids"


def test_divisions_that_split_a_cluster_are_not_trusted(dask_client, data):
    """Sorted files whose boundaries cut a runner in two still report known divisions: the
    cluster ids are checked on the data all the same (an outside review found a clustered
    fit counting 307 clusters for 300, with wrong SEs, when divisions were trusted)."""
    frame = data.set_index("runner_id").sort_index()
    cuts = [0, len(frame) // 3 + 1, 2 * len(frame) // 3 + 1, len(frame)]
    parts = [frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    assert parts[0].index[-1] == parts[1].index[0], "a runner spans the first boundary"
    divisions = (*[p.index[0] for p in parts], parts[-1].index[-1])
    ddf = dd.from_delayed(
        [dask.delayed(p) for p in parts], meta=frame.iloc[:0], divisions=divisions
    )
    assert ddf.known_divisions
    with pytest.raises(ps.ModelError, match=r"has rows in partitions 0, 1"):
        ps.fit_logistic(ddf, FORMULA, cluster="runner_id")


def test_a_cluster_spanning_partitions_is_refused_with_the_fix(dask_client, data):
    ddf = dd.from_pandas(data, npartitions=7, sort=False)  # cuts runners in two
    with pytest.raises(
        ps.ModelError, match=r"has rows in partitions 0, 1 .*set_index\('runner_id'\)"
    ):
        ps.fit_logistic(ddf.clear_divisions(), FORMULA, cluster="runner_id")


def test_bad_partitions_and_outcomes(dask_client, data):
    parts = pieces(data)
    # a formula column absent from one partition
    lacking = [parts[0], parts[1].drop(columns="bmi"), *parts[2:]]
    with pytest.raises(ps.ModelError, match=r"partition 1 \(of 4.*has no column 'bmi'"):
        ps.fit_logistic(from_pieces(lacking), FORMULA)
    # a numeric column stored as text in one partition
    texts = [parts[0], parts[1].assign(bmi=parts[1]["bmi"].astype(str)), *parts[2:]]
    with pytest.raises(ps.ModelError, match=r"partition 1 \(of 4.*'bmi' is stored as (object|str)"):
        ps.fit_logistic(from_pieces(texts), FORMULA)
    # an outcome that is 0 in every partition
    zero = from_pieces([p.assign(pfp=0) for p in parts])
    with pytest.raises(ps.ModelError, match=r"'pfp' is 0 in all 3595 rows used \(in all 4"):
        ps.fit_logistic(zero, FORMULA)
    # a non-binary outcome: the partition is named
    bad = [*parts[:2], parts[2].assign(pfp=parts[2]["pfp"].replace(1, 2)), parts[3]]
    with pytest.raises(ps.ModelError, match=r"partition 2 \(of 4.*must be 0/1"):
        ps.fit_logistic(from_pieces(bad), FORMULA)
    with pytest.raises(ps.ModelError, match="names 'shoe_size', which is not a column"):
        ps.fit_logistic(from_pieces(parts), "pfp ~ bmi + shoe_size")
    with pytest.raises(ps.ModelError, match=r"constant column\(s\).*'spike' \(every row = 1\)"):
        ps.fit_logistic(from_pieces([p.assign(spike=1) for p in parts]), FORMULA)
    with pytest.raises(
        ps.ModelError,
        match="perfect collinearity: '(km2|weekly_km)' is a linear combination of '(weekly_km|km2)'",
    ):
        ps.fit_logistic(
            from_pieces([p.assign(km2=2 * p["weekly_km"]) for p in parts]),
            "pfp ~ weekly_km + km2 + bmi",
        )


def test_separation_is_reported_with_what_to_do(dask_client, data):
    parts = [p.assign(pfp=(p["weekly_km"] > 35).astype(int)) for p in pieces(data)]
    with pytest.raises(ps.ModelError, match=r"did not converge.*'weekly_km'.*method='firth'"):
        ps.fit_logistic(from_pieces(parts), "pfp ~ weekly_km + bmi")


def test_what_needs_memory_is_refused_clearly(dask_client, data, parquet_ddf):
    with pytest.raises(ps.ModelError, match=r"Firth.*in memory only.*ddf\.compute\(\)"):
        ps.fit_logistic(parquet_ddf, FORMULA, method="firth")
    with pytest.raises(ps.ModelError, match="cluster_method='gee' is available in memory only"):
        ps.fit_logistic(parquet_ddf, FORMULA, cluster="runner_id", cluster_method="gee")
    with pytest.raises(ps.ModelError, match=r"learns from all rows \(knots"):
        ps.fit_logistic(parquet_ddf, "pfp ~ cr(weekly_km, df=3) + bmi")
    few = from_pieces([p.assign(club=p["runner_id"] // 20) for p in pieces(data)])
    with pytest.raises(ps.ModelError, match="only 12 clusters of club.*CR2"):
        ps.fit_logistic(few, "pfp ~ weekly_km", cluster="club")
    # "auto" is the ML fit here (events per variable well above 5)
    fit = ps.fit_logistic(parquet_ddf, "pfp ~ weekly_km + spike", method="auto")
    assert_allclose(fit.params_, ps.fit_logistic(data, "pfp ~ weekly_km + spike").params_, **TOL)
    with pytest.raises(ps.ModelError, match="profile-likelihood intervals .* use ci='wald'"):
        fit.odds_ratios(ci="profile")
    with pytest.raises(AttributeError, match="has no 'design': it keeps no rows in memory"):
        fit.design  # noqa: B018
    with pytest.raises(AttributeError, match="immutable"):
        fit.n_obs = 3
