"""Property-based: whatever is in a CSV file, load_cohort returns a DataFrame or raises
DataValidationError, never another exception."""

import warnings

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pfps_stats as ps

HEADERS = [
    "ID",
    "runner_id",
    "PFP",
    "pfp",
    "Weight (lb)",
    "Height (in)",
    "Miles per week",
    "Q-angle",
    "Hip abduction strength (%BW)",
    "Hip abd (N)",
    "sex",
    "knee",
    "bmi",
    "Weight",
    "age",
    "subgroup",
    "record_id",
    "redcap_event_name",
    "x_complete",
    "",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "yes",
            "F",
            "M",
            "L",
            "NA",
            ".",
            "inf",
            "-1",
            "1e400",
            "23,5",
            "1.2.3",
            "military",
            "nan",
            '"',
            "'",
            ";",
            ",",
            "\t",
        ]
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)


@st.composite
def csv_texts(draw):
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(
        st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=8)), min_size=1, max_size=7)
    )
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 1), max_size=8))
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


def _load(path):
    error = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = ps.load_cohort(path)
        except ps.DataValidationError as exc:
            error, result = exc, None
    if error is not None:
        assert len(error.problems) > 0
        assert str(error)
    else:
        assert isinstance(result, pd.DataFrame)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=csv_texts(), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_structured_garbage(tmp_path, text, encoding):
    path = tmp_path / "g.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _load(path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "b.csv"
    path.write_bytes(data)
    _load(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=csv_texts())
def test_quarantine_accounts_for_garbage(tmp_path, text):
    path = tmp_path / "q.csv"
    path.write_text(text, encoding="utf-8")
    try:
        check = ps.check_cohort(path)
    except ps.DataValidationError:
        return
    assert len(check.data) + len(check.quarantined) == check.n_input


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["F", "1", "yes", "L", "military"]),
)


@settings(max_examples=200, deadline=None)
@given(
    columns=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    data=st.data(),
)
def test_garbage_dataframes(columns, data):
    n = data.draw(st.integers(0, 6))
    rows = [
        data.draw(st.lists(VALUES, min_size=len(columns), max_size=len(columns))) for _ in range(n)
    ]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    before = frame.copy(deep=True)
    _load(frame)
    pd.testing.assert_frame_equal(frame, before)
