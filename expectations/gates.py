"""Run the committed gate suites on the typed batches of one load, before they enter the warehouse.

One GX validation per feed file, however many business dates the batch holds (an initial
load validates 90 days at once), one batch in memory at a time: the pipeline passes
`expectations.batches.StagedBatches`, which reads a batch when its turn comes. Reference checks
take their keys from the other batches of the same call (of a staged batch, only the key
column's distinct values, read once: `StagedBatches.reference_keys`); a reference whose target
file was not delivered is skipped and reported as a warning, because the caller passes only
what arrived.

GX is imported here, lazily, and only through its pandas path (its SQL path does not work on
DuckDB).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expectations import _gx
from expectations.batches import StagedBatches, release_freed_memory
from expectations.config import GatesConfig, load_gates_config
from expectations.normalize import for_validation
from expectations.results import CheckResult, GateReport
from expectations.rules import Severity
from expectations.suites import SUITES_DIR, load_suite_json
from extract.contract import FeedAgreement, FeedFile, load_agreement

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult
    from great_expectations.data_context import AbstractDataContext

log = logging.getLogger(__name__)

DEFAULT = SUITES_DIR
EXAMPLES = 5
RELEASE_AFTER_ROWS = 100_000
"""A feed file of at least this many rows has its memory handed back once gated
(`release_freed_memory`). The hand-back runs Python's full garbage collection, about 0.3 s
in a process that has imported GX: nothing beside gating millions of rows, but 13 times a
gate, in every run of the test suite's small banks, it added minutes of CPU (2026-12-03)."""
ROW_COLUMNS = ("_source_file", "_source_row")

# SUMMARY, not COMPLETE: COMPLETE returns every unexpected value and index (a million-entry
# list when a whole column is wrong); SUMMARY stops at `partial_unexpected_count`.
# No `unexpected_index_column_names`: GX builds those rows in a Python loop over *every*
# failing row before truncating (about +30 s for 200k bad rows). Without it GX returns the
# pandas index of the failing rows, which for_validation() makes the row position, and
# `_source_file`/`_source_row` are read from the batch at those positions.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": EXAMPLES,
    "return_unexpected_index_query": False,
}


ReferenceKeys = Callable[[str, str], "pd.Series | None"]
"""(feed file, column) -> the keys the lake already holds, for a reference whose file is not in the call."""


def run_gates(
    batches: Mapping[str, pd.DataFrame],
    *,
    suites_dir: Path = DEFAULT,
    report_dir: Path | None = None,
    config: GatesConfig | None = None,
    reference_keys: ReferenceKeys | None = None,
    docs_dir: Path | None = None,
) -> GateReport:
    """Validate each `"<system>.<file>"` batch against its suite; write `gates.json` to report_dir if given.

    Severities are the suite's unless `config` (default: expectations/gates.toml) overrides
    them. `reference_keys` supplies referenced keys from the lake when the referenced file is
    not in this call. With `docs_dir`, validations are also rendered as GX Data Docs pages (those with a
    failed expectation, or all: the configuration's `data_docs`).
    """
    agreement = load_agreement()
    config = config or load_gates_config()
    for name in batches:
        _feed(agreement, name)  # every name is a feed file of the agreement, before any check runs
    context = _gx.ephemeral_context()
    report = GateReport()
    for name in sorted(batches):
        started = time.perf_counter()
        # one batch in memory at a time: a `StagedBatches` reads it here, and it goes with the loop
        frame = batches[name]
        feed = _feed(agreement, name, frame)
        suite, parameters, skipped = _bind_references(
            name, load_suite_json(name, suites_dir), frame, batches, reference_keys
        )
        suite, referenced = _reference_checks(name, feed, suite, frame, parameters)
        validation = _validate(context, name, for_validation(frame, feed), suite, parameters)
        validated = [_configured(_check_result(name, feed, r, frame), config) for r in validation.results]
        checks = list(validated)
        for position, check in sorted(referenced.items()):  # where the suite has them, so reports read alike
            checks.insert(position, _configured(check, config))
        report.results += [*checks, *(_configured(check, config) for check in skipped)]
        failed = not validation.success or not all(check.success for check in referenced.values())
        if docs_dir is not None and (config.data_docs == "all" or failed):
            from expectations.data_docs import write_validation_page

            validation.results += [_as_gx_result(check, frame) for check in referenced.values()]
            validation.success = not failed
            severities = [c.severity for c in validated] + [
                _configured(c, config).severity for c in referenced.values()
            ]
            write_validation_page(validation, docs_dir / f"{name}.html", severities)
        report.rows[name] = len(frame)
        report.seconds[name] = round(time.perf_counter() - started, 2)
        log.info(
            "gated %s: %d rows, %d checks in %.1fs", name, len(frame), len(suite["expectations"]), report.seconds[name]
        )
        rows = len(frame)
        del frame
        if rows >= RELEASE_AFTER_ROWS:
            release_freed_memory()
    if report_dir is not None:
        report.write_json(report_dir)
    return report


def _validate(
    context: AbstractDataContext,
    name: str,
    frame: pd.DataFrame,
    suite: dict[str, Any],
    parameters: dict[str, Any],
) -> ExpectationSuiteValidationResult:
    """GX's validation of one feed file's normalised `frame` against `suite`, through a data
    source of its own that is deleted before returning: a data source's execution engine keeps
    every batch it was given (the frame) for the life of the context, and GX keeps the context
    as its global project. With one data source for the whole gate every feed file validated so
    far stayed in memory, and was still there when the bank rules ran (a 10,000-customer bank's
    20 days: 600 MB of frames left after the GX checks; bench/bench_scale.py's gate peak)."""
    import great_expectations as gx

    datasource = context.data_sources.add_pandas(f"bankdw_{name}")
    try:
        batch = (
            datasource.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("whole batch")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        return batch.validate(
            gx.ExpectationSuite(**suite), expectation_parameters=parameters, result_format=RESULT_FORMAT
        )
    finally:
        context.data_sources.delete(datasource.name)


def _feed(agreement: FeedAgreement, name: str, frame: pd.DataFrame | None = None) -> FeedFile:
    system, _, file = name.partition(".")
    try:
        feed = agreement.file(system, file)
    except KeyError as exc:
        known = ", ".join(f.qualified_name for f in agreement.files)
        raise ValueError(f"no feed file {name!r} in the agreement (known: {known})") from exc
    missing = [] if frame is None else [c for c in ROW_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"batch {name} lacks lineage column(s) {missing}: the report could not name file and row")
    return feed


def _configured(check: CheckResult, config: GatesConfig) -> CheckResult:
    severity = config.severity_of(check.check_id, check.severity)
    return check if severity == check.severity else replace(check, severity=severity)


def _bind_references(
    name: str,
    suite: dict[str, Any],
    frame: pd.DataFrame,
    batches: Mapping[str, pd.DataFrame],
    reference_keys: ReferenceKeys | None = None,
) -> tuple[dict[str, Any], dict[str, Any], list[CheckResult]]:
    """The suite to run on batch `name` (`frame`), the reference key sets it needs, and the
    reference checks it cannot run."""
    kept, parameters, skipped = [], {}, []
    for expectation in suite["expectations"]:
        reference = (expectation.get("meta") or {}).get("references")
        if reference is None:
            kept.append(expectation)
            continue
        target, target_column = reference.rsplit(".", 1)
        column = expectation["kwargs"]["column"]
        delivered = target in batches
        if delivered:
            keys = _keys(batches, target, target_column, frame if target == name else None)
        else:
            keys = reference_keys(target, target_column) if reference_keys is not None else None
        if keys is None:
            why = f"has no column {target_column}" if delivered else "is not in this call"
            skipped.append(
                CheckResult(
                    name, expectation["type"], column, "warning", success=False, note=f"not checked: {target} {why}"
                )
            )
            continue
        # the keys themselves go to the anti-join (_reference_checks); GX gets an empty set only
        # when the batch lacks the column, to report the check as one that could not run
        parameters[expectation["kwargs"]["value_set"]["$PARAMETER"]] = keys if column in frame.columns else []
        kept.append(expectation)
    return {**suite, "expectations": kept}, parameters, skipped


def _keys(
    batches: Mapping[str, pd.DataFrame], name: str, column: str, frame: pd.DataFrame | None = None
) -> pd.Series | None:
    """The keys `column` of batch `name` holds (`frame` when the caller holds it), None if it has
    no such column; of staged batches not in hand, their distinct values only, read once
    (`StagedBatches.reference_keys`). The anti-join takes the distinct non-null keys either way."""
    if frame is None and isinstance(batches, StagedBatches):
        return batches.reference_keys(name, column)
    frame = batches[name] if frame is None else frame
    return frame[column] if column in frame.columns else None


def _reference_checks(
    name: str, feed: FeedFile, suite: dict[str, Any], frame: pd.DataFrame, parameters: dict[str, Any]
) -> tuple[dict[str, Any], dict[int, CheckResult]]:
    """The suite without its bound reference checks, and those checks run as DuckDB anti-joins,
    by their position in the suite.

    A reference check in GX carries every referenced key in its expectation (every account id
    of the bank, each night), which GX serialises and renders again and again; an anti-join of
    the batch's column against the keys finds the same rows (nulls are not checked, as in GX)
    in a fraction of the time. A check whose column the batch lacks stays with GX, which
    reports it as a check that could not run.
    """
    kept, referenced = [], {}
    for position, expectation in enumerate(suite["expectations"]):
        parameter = expectation["kwargs"].get("value_set")
        keys = parameters.get(parameter["$PARAMETER"]) if isinstance(parameter, dict) else None
        column = expectation["kwargs"].get("column")
        if not isinstance(keys, pd.Series) or column not in frame.columns:
            kept.append(expectation)
            continue
        unexpected, positions = _anti_join(frame[column], keys)
        referenced[position] = CheckResult(
            feed=name,
            expectation=expectation["type"],
            column=column,
            severity=_severity((expectation.get("meta") or {}).get("severity")),
            success=unexpected == 0,
            unexpected_count=unexpected,
            examples=_examples(frame, feed, positions, [column]),
        )
    return {**suite, "expectations": kept}, referenced


def _anti_join(values: pd.Series, keys: pd.Series) -> tuple[int, list[int]]:
    """How many non-null `values` are not among `keys`, and the first positions of those."""
    import duckdb

    batch = pd.DataFrame({"value": values.to_numpy(), "position": np.arange(len(values))})
    known = pd.DataFrame({"key": keys.dropna().unique()})
    with duckdb.connect() as con:
        con.register("batch", batch)
        con.register("known", known)
        con.execute(
            "create temp table unexpected as select batch.position, batch.value from batch "
            "anti join known on batch.value = known.key where batch.value is not null"
        )
        count = int(con.sql("select count(*) from unexpected").fetchall()[0][0])
        first = con.sql(f"select position from unexpected order by position limit {EXAMPLES}").fetchall()
    return count, [int(row[0]) for row in first]


def _as_gx_result(check: CheckResult, frame: pd.DataFrame) -> ExpectationValidationResult:
    """A reference check as a GX result for its Data Docs page: the failing values, not the keys."""
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    failing = [example.get(check.column or "") for example in check.examples]
    return ExpectationValidationResult(
        success=check.success,
        expectation_config=ExpectationConfiguration(
            type=check.expectation,
            kwargs={"column": check.column, "value_set": ["(the referenced keys, checked in DuckDB)"]},
            meta={"severity": check.severity},
        ),
        result={
            "element_count": len(frame),
            "unexpected_count": check.unexpected_count,
            "unexpected_percent": 100 * check.unexpected_count / len(frame) if len(frame) else 0.0,
            "partial_unexpected_list": failing,
        },
    )


def _check_result(name: str, feed: FeedFile, result: ExpectationValidationResult, frame: pd.DataFrame) -> CheckResult:
    config = result.expectation_config
    assert config is not None, "GX returned a result without its expectation"
    kwargs, meta, outcome = config.kwargs, config.meta or {}, result.result or {}
    columns = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list", []))
    condition_column, condition = _condition(kwargs.get("row_condition"))
    positions = outcome.get("partial_unexpected_index_list") or []
    shown = columns + ([condition_column] if condition_column else [])
    return CheckResult(
        feed=name,
        expectation=config.type,
        column=", ".join(columns) or None,
        severity=_severity(meta.get("severity")),
        success=bool(result.success),
        unexpected_count=int(outcome.get("unexpected_count") or 0),
        examples=_examples(frame, feed, positions, shown),
        condition=condition,
        note=_note(result, outcome),
    )


def _severity(value: object) -> Severity:
    if value == "blocking":
        return "blocking"
    if value == "warning":
        return "warning"
    raise ValueError(f"expectation meta.severity must be 'blocking' or 'warning', not {value!r}")


def _condition(row_condition: Any) -> tuple[str | None, str | None]:
    """(column, readable text) of a GX row condition, given as a Condition object or its dict."""
    if row_condition is None:
        return None, None
    data = row_condition if isinstance(row_condition, dict) else row_condition.dict()
    column = data["column"]["name"]
    return column, f"{column} {data['operator']} {data['parameter']!r}"


def _note(result: ExpectationValidationResult, outcome: dict[str, Any]) -> str | None:
    info = result.exception_info or {}
    for raised in [info, *[v for v in info.values() if isinstance(v, dict)]]:
        if raised.get("raised_exception"):
            return f"could not run: {raised.get('exception_message')}"
    missing = ((outcome.get("details") or {}).get("mismatched") or {}).get("missing")
    return f"failed: missing column(s) {', '.join(missing)}" if missing else None


def _examples(
    frame: pd.DataFrame, feed: FeedFile, positions: Sequence[Any], columns: list[str]
) -> list[dict[str, Any]]:
    """The failing rows as the extract delivered them (not as normalised for GX)."""
    rows = [p for p in positions if isinstance(p, int | np.integer)][:EXAMPLES]
    keep = [*ROW_COLUMNS, *[c for c in columns if c in frame.columns]]
    records = frame.iloc[rows][keep].to_dict("records")
    types = {c.name: c.type for c in feed.columns}
    return [{k: _plain(v, types.get(str(k))) for k, v in record.items()} for record in records]


def _plain(value: Any, column_type: str | None) -> Any:
    """A Python value for the report: None for any missing marker, dates as dates."""
    if not isinstance(value, list | tuple | dict) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if column_type == "date" else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value
