"""Command line: ``pfps-stats validate | variables | simulate | plan | report run``.

Exit codes: 0 success; 1 data problems found or report jobs failed; 2 bad arguments or an
invalid report configuration or an output folder that cannot be written or a Dask cluster
that cannot run the jobs (unreachable, no workers, inputs the workers cannot see); 3 another
report run holds the lock; 143 the report run was stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_USAGE = 2


class _UsageError(Exception):
    """A bad argument: ``main`` prints it on one line and returns exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an argument error is one line on stderr (and exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def _mapping(items: list[str]) -> dict:
    """--map for a cohort: SOURCE=NAME[:UNIT] with a canonical variable and one of its units."""
    import difflib

    from .cohort.units import UNITS, parse_unit
    from .cohort.variables import VARIABLES

    def check(item: str, name: str, unit: str) -> None:
        if name not in VARIABLES:
            close = difflib.get_close_matches(name, list(VARIABLES), n=3)
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise _UsageError(
                f"pfps-stats validate: --map {item}: {name!r} is not a canonical variable"
                f"{hint} (`pfps-stats variables` lists them)"
            )
        units = VARIABLES[name].units
        if unit and (not units or parse_unit(unit) not in units):
            accepted = ", ".join(UNITS[u].symbol for u in units) if units else "none"
            _bad_unit(item, unit, name, accepted)

    return _parse_map(items, "Wt=mass_kg:lb", check)


def _table_mapping(items: list[str], kind: str) -> dict:
    """--map for a training log or an injury file: SOURCE=NAME[:UNIT], NAME '-' ignores."""
    from .cohort.injuries import INJURY_COLUMNS
    from .cohort.training_log import DISTANCE_UNITS, DURATION_UNITS, LOG_COLUMNS

    names = LOG_COLUMNS if kind == "log" else INJURY_COLUMNS
    units = {"distance_km": DISTANCE_UNITS, "duration_min": tuple(DURATION_UNITS)}
    what = "training-log" if kind == "log" else "injury"

    def check(item: str, name: str, unit: str) -> None:
        if name not in names:
            raise _UsageError(
                f"pfps-stats validate: --map {item}: {name!r} is not a {what} column "
                f"(it reads: {', '.join(names)})"
            )
        if unit and unit not in units.get(name, ()):
            _bad_unit(item, unit, name, ", ".join(units.get(name, ())) or "none")

    return _parse_map(items, "Distance=distance_km:mi", check)


def _parse_map(items: list[str], example: str, check) -> dict:
    """``SOURCE=NAME[:UNIT]`` items as a loader's mapping (NAME '' or '-': ignore the column);
    ``check(item, name, unit)`` refuses a name or unit the loader does not read."""
    mapping: dict = {}
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source:
            raise _UsageError(
                f"pfps-stats validate: --map wants SOURCE=NAME or SOURCE=NAME:UNIT "
                f"(e.g. --map {example}, or Notes=- to ignore a column), not {item!r}"
            )
        name, _, unit = target.partition(":")
        if name in ("", "-"):
            mapping[source] = None
            continue
        check(item, name, unit)
        mapping[source] = (name, unit) if unit else name
    return mapping


def _bad_unit(item: str, unit: str, name: str, accepted: str) -> None:
    raise _UsageError(
        f"pfps-stats validate: --map {item}: {unit!r} is not a unit pfps_stats reads "
        f"for {name} (it reads: {accepted})"
    )


def _detect_kind(path: str) -> str:
    """cohort, log or injuries, from the file's columns (a folder is a log)."""
    from ._exceptions import DataValidationError
    from .cohort.injuries import looks_like_injuries
    from .cohort.readers import read_table
    from .cohort.training_log import looks_like_training_log

    if Path(path).is_dir():
        return "log"
    try:
        columns = list(read_table(path, keep_duplicate_names=True).frame.columns)
    except DataValidationError:
        return "cohort"  # the cohort check reports why the file cannot be read
    if looks_like_training_log(columns):
        return "log"
    if looks_like_injuries(columns):
        return "injuries"
    return "cohort"


def _validate(args: argparse.Namespace) -> int:
    kind = args.kind if args.kind != "auto" else _detect_kind(args.path)
    if kind != "cohort":
        return _validate_table(args, kind)
    return _validate_cohort(args)


def _validate_table(args: argparse.Namespace, kind: str) -> int:
    """Validate a training log (file or folder) or an injury file, as `validate` a cohort."""
    from ._exceptions import DataValidationError
    from .cohort.injuries import check_injuries
    from .cohort.training_log import check_log_quarantine_path, check_training_log

    mapping = _table_mapping(args.map, kind)
    if args.quarantine:
        try:
            check_log_quarantine_path(args.quarantine, args.path)
        except ValueError as exc:
            raise _UsageError(f"pfps-stats validate: --quarantine: {exc}") from None
    try:
        if kind == "log":
            check = check_training_log(args.path, mapping, dayfirst=args.dayfirst)
        else:
            check = check_injuries(args.path, mapping, dayfirst=args.dayfirst)
    except DataValidationError as exc:
        print(exc, file=sys.stderr)
        return 1
    what = "a training log" if kind == "log" else "an injury file"
    how = "as asked" if args.kind != "auto" else "from its columns; --kind chooses"
    line = (
        f"{check.source}: {check.n_input} rows read, {len(check.data)} valid, "
        f"{len(check.quarantined)} with problems"
    )
    if kind == "log":
        line += f", {len(check.set_aside)} set aside (not runs)"
    print(f"{line}. Read as {what} ({how}).")
    for note in check.notes:
        print(f"note: {note}")
    return _problems_out(check, args)


def _problems_out(check, args: argparse.Namespace) -> int:
    """A check's problems on stderr, its quarantine written when asked; the exit code."""
    from ._exceptions import DataValidationError
    from .cohort.validation import write_csv_atomic

    if not len(check.problems):
        return 0
    print(DataValidationError(check.problems, source=check.source), file=sys.stderr)
    if args.quarantine and not len(check.file_problems):
        write_csv_atomic(check.quarantined, Path(args.quarantine))
        print(f"wrote {len(check.quarantined)} rows with their reasons to {args.quarantine}")
    return 1


def _validate_cohort(args: argparse.Namespace) -> int:
    import pandas as pd

    from ._exceptions import DataValidationError
    from .cohort.load import check_cohort, check_quarantine_path

    mapping = _mapping(args.map)
    if args.quarantine:
        try:
            check_quarantine_path(args.quarantine, args.path)
        except ValueError as exc:
            raise _UsageError(f"pfps-stats validate: --quarantine: {exc}") from None
    try:
        check = check_cohort(args.path, mapping)
    except DataValidationError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"{check.source}: {check.n_input} rows read, {len(check.data)} valid, "
        f"{len(check.quarantined)} with problems."
    )
    for note in check.notes:
        print(f"note: {note}")
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(check.columns.to_string(index=False))
    return _problems_out(check, args)


def _variables(args: argparse.Namespace) -> int:
    import pandas as pd

    from .cohort.variables import variable_table

    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(variable_table().drop(columns=["description", "aliases"]).to_string(index=False))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .cohort.synthetic import simulate_cohort, write_demo_cohort
    from .cohort.validation import write_csv_atomic

    if Path(args.out).is_dir():
        raise _UsageError(
            f"pfps-stats simulate: --out {args.out} is a folder; give a CSV file name, "
            f"e.g. --out {Path(args.out) / 'synthetic.csv'}"
        )
    if args.seed is not None and args.seed < 0:
        raise _UsageError(f"pfps-stats simulate: --seed must be 0 or more, not {args.seed}")
    if args.demo:
        path = (
            write_demo_cohort(args.out, seed=args.seed)
            if args.seed is not None
            else write_demo_cohort(args.out)
        )
    else:
        path = Path(args.out)
        write_csv_atomic(simulate_cohort(args.n, subgroup=args.subgroup, seed=args.seed), path)
    print(f"wrote SYNTHETIC cohort to {path}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    """The runners and cases a cohort needs (ps.plan_study), and the sentence to quote."""
    from .evidence.planning import plan_study

    try:
        plan = plan_study(
            args.factor,
            args.subgroup,
            power=args.power,
            alpha=args.alpha,
            use=args.use,
            dropout=args.dropout,
            r2_other=args.r2_other,
            incidence=args.incidence,
            method=args.method,
        )
    except ValueError as exc:  # EvidenceError is a ValueError too
        raise _UsageError(f"pfps-stats plan: {' '.join(str(exc).split())}") from None
    effect = f"{plan['measure']} {plan['effect']:g}"
    if plan["use"] == "conservative":
        effect += f" (conservative: the CI end nearest no effect; estimate {plan['estimate']:g})"
    rows = [
        ("runners to recruit", f"{plan['n']}"),
        ("runners analysed", f"{plan['n_analysed']} (drop-out {plan['dropout']:.0%})"),
        ("expected cases", f"{plan['events']:.1f}"),
        ("power", f"{plan['power']:.3f} (target {plan['power_target']:g})"),
        ("alpha (two-sided)", f"{plan['alpha']:g}"),
        ("effect", effect),
        ("95% CI", f"{plan['ci_low']:g} to {plan['ci_high']:g}"),
        (
            "source",
            f"{plan['study']} ({plan['design']}, evidence level {plan['evidence_level'] or '-'})",
        ),
        ("incidence", f"{plan['incidence']:.0%}, {plan['incidence_source']}"),
        ("adjustment R²", f"{plan['r2_other']:g}"),
        ("method", plan["method_description"]),
    ]
    if plan["method"] != "hsieh":
        rows.append(
            (
                "Hsieh et al. 1998",
                f"{plan['n_hsieh']} runners (as R's powerMediation; optimistic for large effects)",
            )
        )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if plan["registry_note"]:
        print(f"note: {plan['study']}: {plan['registry_note']}")
    if plan["other_rows"]:
        print(f"note: other usable registry rows: {plan['other_rows']}")
    for note in plan.attrs.get("notes", []):
        print(f"note: {note}")
    print()
    print(plan["sentence"])
    return 0


def _scheduler(text: str) -> str:
    from .batch.config import scheduler_problem

    if problem := scheduler_problem(text):
        raise argparse.ArgumentTypeError(problem)
    return text


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text!r}")
    return value


def _report_run(args: argparse.Namespace) -> int:
    from ._exceptions import ClusterError, ConfigError, LockedError
    from .batch.config import load_config
    from .batch.runner import EXIT_CONFIG, EXIT_LOCKED, run_batch

    try:
        config = load_config(args.config)
        if args.retries is not None and args.scheduler is None and config.scheduler is None:
            raise _UsageError(
                "pfps-stats report run: --retries applies to jobs run on Dask: give "
                "--scheduler (or 'scheduler' in reports.yml), or leave --retries out"
            )
        code, records = run_batch(
            config,
            only=args.only,
            workers=args.jobs,
            force=args.force,
            progress=sys.stderr.isatty(),
            scheduler=args.scheduler,
            retries=args.retries,
            pdf=True if args.pdf else None,
        )
    except ClusterError as exc:
        print(f"pfps-stats: Dask cluster: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ConfigError as exc:
        print(f"pfps-stats: invalid report configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except LockedError as exc:
        print(f"pfps-stats: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    counts = {s: sum(r["status"] == s for r in records) for s in ("success", "cached", "failed")}
    for record in records:
        if record.get("pdf_error"):
            print(
                f"pfps-stats: {record['name']}: PDF not printed ({record['pdf_error']}); "
                "the HTML report is fine",
                file=sys.stderr,
            )
    print(
        f"{counts['success']} run, {counts['cached']} cached, {counts['failed']} failed; "
        f"index: {config.output_dir / 'index.html'}"
    )
    return code


def build_parser() -> argparse.ArgumentParser:
    from .cohort.variables import SUBGROUPS
    from .evidence.registry import SUBGROUPS as REGISTRY_SUBGROUPS

    parser = _Parser(
        prog="pfps-stats", description="Evidence and risk-factor analysis for patellofemoral pain."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "validate",
        help="check a cohort, training log or injury file and list every problem",
        description="Check a cohort file, a training log (file or folder of per-runner "
        "exports) or an injury file, and list every problem. The kind is detected from the "
        "columns unless --kind says it.",
    )
    p.add_argument("path")
    p.add_argument(
        "--kind",
        choices=["auto", "cohort", "log", "injuries"],
        default="auto",
        help="what the file is (default: detected from its columns; a folder is a log)",
    )
    order = p.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_const",
        const=True,
        default=None,
        help="read numeric dates such as 03/04/2025 day first (logs and injury files)",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_const",
        const=False,
        help="read numeric dates such as 03/04/2025 month first (logs and injury files)",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE=NAME[:UNIT]",
        help="map a source column to a canonical name (and unit); NAME '-' ignores it",
    )
    p.add_argument("--quarantine", metavar="CSV", help="write rows with problems here")
    p.set_defaults(func=_validate)

    p = sub.add_parser("variables", help="print the variable dictionary")
    p.set_defaults(func=_variables)

    p = sub.add_parser("simulate", help="write a SYNTHETIC cohort as CSV")
    p.add_argument("--out", required=True)
    p.add_argument("--demo", action="store_true", help="the bundled three-subgroup demo cohort")
    p.add_argument("--n", type=_positive_int, default=1000, help="runners (default 1000)")
    p.add_argument("--subgroup", default="recreational", choices=SUBGROUPS)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=_simulate)

    p = sub.add_parser(
        "plan",
        help="runners and cases a prospective cohort needs, from the published evidence",
        description="Sample size of a prospective cohort for a logistic model (the "
        "likelihood-ratio test's power, Self et al. 1992; or Hsieh et al. 1998), from the "
        "evidence registry's estimate for a factor in a subgroup and the subgroup's PFP "
        "incidence; prints the numbers and a sentence a protocol can quote.",
    )
    p.add_argument("--factor", required=True, help="e.g. knee_ext_strength_nmkg")
    p.add_argument("--subgroup", required=True, choices=REGISTRY_SUBGROUPS)
    p.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided alpha (default 0.05)")
    p.add_argument("--dropout", type=float, default=0.0, help="share lost to follow-up (default 0)")
    p.add_argument(
        "--r2-other",
        type=float,
        default=0.0,
        help="R² of the factor on the adjustment covariates (default 0: unadjusted)",
    )
    p.add_argument(
        "--incidence",
        type=float,
        help="PFP incidence over follow-up (default: the subgroup's, Neal et al. 2019)",
    )
    p.add_argument(
        "--use",
        choices=["estimate", "conservative"],
        default="estimate",
        help="plan for the estimate, or for its 95%% CI end nearest no effect",
    )
    p.add_argument(
        "--method",
        choices=["lr", "hsieh"],
        default="lr",
        help="lr: the likelihood-ratio test's power (default); hsieh: Hsieh et al. 1998, "
        "as R's powerMediation, optimistic for large effects",
    )
    p.set_defaults(func=_plan)

    p = sub.add_parser("report", help="batch reports")
    report = p.add_subparsers(dest="report_command", required=True)
    r = report.add_parser("run", help="run the jobs of a reports.yml into an HTML site")
    r.add_argument("config", nargs="?", default="reports.yml")
    r.add_argument("--only", metavar="NAME", help="run just this job")
    r.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="worker processes, here or in --scheduler local's cluster (default: cores)",
    )
    r.add_argument("--force", action="store_true", help="re-run jobs whose inputs are unchanged")
    r.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="ADDRESS",
        help="run each job as a task on a Dask cluster: a scheduler's address "
        "(tcp://host:8786) or 'local' (a LocalCluster on this machine); default: 'scheduler' "
        "in reports.yml, else worker processes here (docs/scaling-out.md)",
    )
    r.add_argument(
        "--retries",
        type=_count,
        metavar="N",
        help="on Dask, times a job runs again when its worker dies during it (default: "
        "'retries' in reports.yml, else 1); a job that fails on its own is not run again",
    )
    r.add_argument(
        "--pdf",
        action="store_true",
        help="also write each report as a PDF (<name>.pdf, A4) with headless Chromium, as "
        "'pdf: true' in reports.yml does; needs Chromium (Debian: apt-get install chromium; "
        "or PFPS_CHROMIUM=/path/to/chrome); see docs/pdf-reports.md",
    )
    r.set_defaults(func=_report_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pfps-stats`` console script; returns the exit code.

    A bad argument prints one line on stderr and returns 2 (``--help`` returns 0).
    """
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help exits through argparse
            return exc.code if isinstance(exc.code, int) else 0
        return args.func(args)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
