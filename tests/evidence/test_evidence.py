"""The evidence registry, the local-vs-published comparison and the claims check."""

import json
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pfps_stats as ps
from pfps_stats.evidence.registry import EVIDENCE_DIR

SOURCES_MD = Path(__file__).resolve().parents[2] / "docs" / "evidence-sources.md"
REF = json.loads((Path(__file__).parent / "reference" / "metafor_edge_cases.json").read_text())


def test_the_shipped_registry_loads_and_every_number_has_a_source():
    registry = ps.load_evidence()
    assert len(registry) >= 10
    assert registry["citation"].str.len().gt(0).all()
    verified = registry[registry["verified"]]
    assert verified["source_url"].str.len().gt(0).sum() >= len(verified) - 2  # cohort abstracts
    assert (registry["ci_low"] <= registry["estimate"]).all()
    neal = verified[(verified["study"] == "neal2019")].set_index("factor")
    assert neal.loc["knee_ext_strength_nmkg", "estimate"] == -0.69
    assert neal.loc["hip_abd_strength_nkg", "estimate"] == 0.71
    assert not registry.loc[registry["note"].str.contains("UNVERIFIED"), "verified"].any()
    studies = ps.load_studies().set_index("key")
    assert studies.loc["neal2019", "doi"] == "10.1136/bjsports-2017-098890"
    assert ps.load_evidence(verified_only=True)["verified"].all()


def _sources_table() -> pd.DataFrame:
    """The "Verified estimates" table of docs/evidence-sources.md."""
    text = SOURCES_MD.read_text(encoding="utf-8")
    section = text.split("## Verified estimates", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return pd.DataFrame(rows, columns=header)


def test_every_verified_number_is_in_the_documented_sources():
    """Each verified registry row appears, with the same numbers, in docs/evidence-sources.md
    (the project's record of where each number is stated), and the doc lists nothing else."""
    table = _sources_table()
    key = ["study", "factor", "level", "subgroup", "measure"]
    numbers = ["estimate", "ci_low", "ci_high"]
    documented = sorted((*r[key], *(float(r[c]) for c in numbers)) for _, r in table.iterrows())
    registry = ps.load_evidence(verified_only=True)
    shipped = sorted((*r[key], *(float(r[c]) for c in numbers)) for _, r in registry.iterrows())
    assert shipped == documented
    assert table["where it is stated"].str.len().gt(0).all()


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "estimates.csv",
            "neal2019,knee_ext",
            "nael2019,knee_ext",
            r"estimates.csv, line 2, field 'study': 'nael2019' is not a key",
        ),
        (
            "estimates.csv",
            "knee_ext_strength_nmkg,military,SMD,-0.69",
            "quads,military,SMD,-0.69",
            r"line 2, field 'factor': 'quads' is not a canonical",
        ),
        (
            "estimates.csv",
            "military,SMD,-0.69,-1.02,-0.35,,,,moderate",
            "military,SMD,-0.69,-0.5,-0.35,,,,moderate",
            r"line 2, field 'estimate': .* not within",
        ),
        ("estimates.csv", "SMD,0.71,0.39", "SMD,abc,0.39", r"line 3, field 'estimate': 'abc'"),
        (
            "estimates.csv",
            ',moderate,yes,prospective,https://bjsm.bmj.com/content/53/5/270,"iso',
            ',moderate,maybe,prospective,https://bjsm.bmj.com/content/53/5/270,"iso',
            r"field 'verified': 'maybe' must be one of yes, no",
        ),
        (
            "studies.csv",
            "10.1136/bjsports-2017-098890",
            "bjsports-2017-098890",
            r"studies.csv, line 2, field 'doi'",
        ),
        (
            "claims.csv",
            "neal2019; lankhorst2013",
            "neal2019; nobody2020",
            r"claims.csv, line 3, field 'sources': 'nobody2020'",
        ),
    ],
)
def test_malformed_registry_rows_are_named(tmp_path, file, old, new, message):
    folder = tmp_path / "evidence"
    shutil.copytree(EVIDENCE_DIR, folder)
    path = folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ps.EvidenceError, match=message):
        ps.load_evidence(folder) if file != "claims.csv" else ps.load_claims(folder)


def test_missing_registry_file_or_column(tmp_path):
    with pytest.raises(ps.EvidenceError, match="file not found"):
        ps.load_evidence(tmp_path)
    folder = tmp_path / "evidence"
    shutil.copytree(EVIDENCE_DIR, folder)
    (folder / "studies.csv").write_text("key,citation\nx,y\n")
    with pytest.raises(ps.EvidenceError, match="missing column"):
        ps.load_studies(folder)


@pytest.fixture(scope="module")
def military():
    cohort = ps.load_cohort(ps.DEMO_COHORT)
    return cohort[cohort["subgroup"] == "military"]


def test_compare_with_evidence_on_the_demo(military):
    table = ps.compare_with_evidence(military).set_index("factor")
    knee = table.loc["knee_ext_strength_nmkg"]
    assert knee["published_study"] == "neal2019"
    assert knee["subgroup"] == "military"
    assert knee["smd_low"] < knee["smd"] < knee["smd_high"] < 0
    assert knee["or_per_sd"] < 1
    assert "agrees" not in table
    assert "updated_tau2" not in table
    # the difference local - published, from both standard errors
    z = 1.959963984540054
    local_se = (knee["smd_high"] - knee["smd_low"]) / (2 * z)
    pub_se = (-0.35 + 1.02) / (2 * z)
    se = np.hypot(local_se, pub_se)
    assert knee["difference"] == pytest.approx(knee["smd"] + 0.69, rel=1e-12)
    assert knee["difference_low"] == pytest.approx(knee["difference"] - z * se, rel=1e-9)
    assert knee["difference_high"] == pytest.approx(knee["difference"] + z * se, rel=1e-9)
    p = 2 * stats.norm.sf(abs(knee["difference"]) / se)
    assert knee["difference_p"] == pytest.approx(p, rel=1e-9)
    assert knee["difference_p"] >= 0.05
    assert knee["verdict"] == "consistent"
    assert "no evidence of a difference from neal2019" in knee["note"]
    assert "agree" not in knee["note"]
    assert "equivalen" not in knee["note"]
    # the same population: no caveat
    assert bool(knee["same_population"])
    assert "another population" not in knee["note"]
    # the living update is the common-effect (inverse-variance) pool of the two
    w = np.array([1 / pub_se**2, 1 / local_se**2])
    pooled = (w @ [-0.69, knee["smd"]]) / w.sum()
    assert knee["updated_smd"] == pytest.approx(pooled, rel=1e-9)
    assert knee["updated_low"] == pytest.approx(pooled - z / np.sqrt(w.sum()), rel=1e-9)
    assert knee["updated_method"] == "common-effect (inverse variance)"
    assert "same true effect" in knee["note"]


def test_bmi_on_the_demo_differs_from_hart_2017_as_in_r():
    """Issue 10: BMI -0.14 (-0.29, 0.00) "agreed" with Hart 2017's 0.34 (-0.04, 0.71) because
    the CIs overlap; the difference test gives z = -2.35, p = 0.019. Reference:
    tests/evidence/reference/metafor_edge_cases.R (escalc, qnorm, rma(method = "EE"))."""
    ref = REF["bmi_demo"]
    row = ps.compare_with_evidence(ps.load_demo_cohort()).set_index("factor").loc["bmi"]
    assert (row["subgroup"], row["published_study"], row["published_subgroup"]) == (
        "all",
        "hart2017",
        "adult",
    )
    assert (row["n"], row["events"]) == (ref["n"], ref["events"])
    assert row["smd"] == pytest.approx(ref["smd"], rel=1e-10)
    for column in (
        "difference",
        "difference_low",
        "difference_high",
        "difference_z",
        "difference_p",
        "updated_smd",
        "updated_low",
        "updated_high",
    ):
        assert row[column] == pytest.approx(ref[column], rel=1e-9), column
    assert round(row["difference_z"], 2) == -2.35
    assert round(row["difference_p"], 3) == 0.019
    assert row["smd_low"] <= row["published_high"]  # the CIs overlap ...
    assert row["verdict"] == "differs"  # ... yet the estimates differ
    assert "differs from hart2017 (adult)" in row["note"]
    # Hart 2017's estimate is for adults, the local one for the whole cohort
    assert not bool(row["same_population"])
    assert "another population" in row["note"]


def test_local_smd_is_hedges_g(military):
    table = ps.compare_with_evidence(military, factors=["q_angle_deg"]).iloc[0]
    x = military[["q_angle_deg", "pfp"]].dropna()
    a, b = x.loc[x.pfp == 1, "q_angle_deg"], x.loc[x.pfp == 0, "q_angle_deg"]
    es = ps.effect_size(
        "SMD", m1i=a.mean(), sd1i=a.std(), n1i=len(a), m2i=b.mean(), sd2i=b.std(), n2i=len(b)
    )
    assert table["smd"] == pytest.approx(es["yi"].iloc[0])
    assert np.isnan(table.get("published_smd", np.nan))
    assert "no verified prospective SMD" in table["note"]


def test_compare_bad_factor(military):
    with pytest.raises(ValueError, match="not columns of the cohort: 'shoe'"):
        ps.compare_with_evidence(military, factors=["shoe"])


def test_plot_comparison(military):
    table = ps.compare_with_evidence(military)
    ax = ps.plot_comparison(table, ax=plt.figure().gca())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["local cohort", "published", "updated (pooled)"]
    assert "Standardised mean difference" in ax.get_xlabel()
    assert any("neal2019" in t.get_text() for t in ax.texts)


def test_claims_are_rendered_with_links_and_escaped():
    claims = ps.load_claims()
    assert len(claims) >= 7
    html = ps.claims_html(claims)
    assert "https://doi.org/10.1136/bjsports-2017-098890" in html
    assert "runner&#x27;s knee" in html
    evil = pd.DataFrame(
        {
            "claim": ["<script>x</script>"],
            "verdict": ["v"],
            "evidence": ["e"],
            "links": [["https://example.org/?a=<b>"]],
        }
    )
    rendered = ps.claims_html(evil)
    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered


def test_comparison_summary_is_compact_text(military):
    summary = ps.comparison_summary(ps.compare_with_evidence(military)).set_index("factor")
    assert list(summary.columns) == [
        "n_events",
        "local_smd",
        "local_or_per_sd",
        "published",
        "difference",
        "verdict",
        "updated_smd",
    ]
    knee = summary.loc["Knee extension strength (Nm/kg)"]
    assert knee["published"] == "-0.69 (-1.02, -0.35) neal2019 (military)"
    assert knee["verdict"] == "consistent"
    assert knee["difference"].startswith("-0.16 (")
    assert knee["difference"].endswith("p=0.45")
    bmi = summary.loc["Body-mass index (kg/m²)"]
    assert bmi["verdict"] == "consistent (another population)"
    hip = summary.loc["Hip abduction strength (N/kg)"]
    assert (hip["published"], hip["difference"], hip["verdict"], hip["updated_smd"]) == (
        "-",
        "-",
        "-",
        "-",
    )


def test_comparison_summary_on_the_demo_shows_the_bmi_difference():
    table = ps.compare_with_evidence(ps.load_demo_cohort())
    bmi = ps.comparison_summary(table).set_index("factor").loc["Body-mass index (kg/m²)"]
    assert bmi["difference"] == "-0.48 (-0.89, -0.08), p=0.019"
    assert bmi["verdict"] == "differs (another population)"
