"""Run the committed gate suites on the typed batches of one load, before they enter the warehouse.

One report entry per expectation and feed file, however many business dates the batch holds
(an initial load validates 90 days at once), one batch in memory at a time: the pipeline passes
`expectations.batches.StagedBatches`, which reads a batch when its turn comes. A feed file of
more than `slice_rows` rows (setting `gate_slice_rows`) is validated a slice of rows at a time,
each slice a GX batch of its own, and each expectation's results on the slices are merged into
the one result the whole file would have given (`_merged`: counts summed, percentages of the
whole, the first five failing rows in order, success judged on the sums as GX judges it). What
a slice cannot judge is not asked of GX: the uniqueness checks run in DuckDB over the whole
file (`_uniqueness_check`), the table-level checks on the first slice only. Reference checks
are DuckDB anti-joins of each slice against keys taken once per file from the other batches of
the same call (of a staged batch, only the key column's distinct values, read once:
`StagedBatches.reference_keys`); a reference whose target file was not delivered is skipped and
reported as a warning, because the caller passes only what arrived. A feed file's checks are
reported in its suite's order (GX lists the checks it could not run first; the gate does not).

GX is imported here, lazily, and only through its pandas path (its SQL path does not work on
DuckDB).
"""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from expectations import _gx
from expectations.batches import DEFAULT_SLICE_ROWS, StagedBatches, duplicate_rows, release_freed_memory
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
UNIQUENESS = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
"""Checks that need the whole feed file at once: run in DuckDB (`_uniqueness_check`), never per slice."""

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
    slice_rows: int = DEFAULT_SLICE_ROWS,
) -> GateReport:
    """Validate each `"<system>.<file>"` batch against its suite; write `gates.json` to report_dir if given.

    Severities are the suite's unless `config` (default: expectations/gates.toml) overrides
    them. `reference_keys` supplies referenced keys from the lake when the referenced file is
    not in this call. With `docs_dir`, validations are also rendered as GX Data Docs pages (those with a
    failed expectation, or all: the configuration's `data_docs`). A batch of more than
    `slice_rows` rows is validated `slice_rows` at a time (0: every batch at once), with the
    same report.
    """
    agreement = load_agreement()
    config = config or load_gates_config()
    for name in batches:
        _feed(agreement, name)  # every name is a feed file of the agreement, before any check runs
    context = _gx.ephemeral_context()
    report = GateReport()
    for name in sorted(batches):
        started = time.perf_counter()
        columns = _columns(batches, name)
        feed = _feed(agreement, name, columns)
        suite, parameters, skipped = _bind_references(
            name, load_suite_json(name, suites_dir), columns, batches, reference_keys
        )
        gated = _gate_file(context, name, feed, suite, parameters, batches, columns, slice_rows)
        checks = [_configured(check, config) for check in gated.checks]
        report.results += [*checks, *(_configured(check, config) for check in skipped)]
        if docs_dir is not None and (config.data_docs == "all" or not all(check.success for check in checks)):
            from expectations.data_docs import write_validation_page

            severities = [checks[position].severity for position in gated.page_order]
            write_validation_page(gated.page, docs_dir / f"{name}.html", severities)
        report.rows[name] = gated.rows
        report.seconds[name] = round(time.perf_counter() - started, 2)
        log.info(
            "gated %s: %d rows in %d slice(s), %d checks in %.1fs",
            name,
            gated.rows,
            gated.slices,
            len(suite["expectations"]),
            report.seconds[name],
        )
    if report_dir is not None:
        report.write_json(report_dir)
    return report


@dataclass
class _Gated:
    """One feed file gated: its checks in the suite's order, and its Data Docs page."""

    checks: list[CheckResult]
    page: ExpectationSuiteValidationResult
    page_order: list[int]
    """The position in `checks` of each result of `page`, in the page's order."""
    rows: int
    slices: int


@dataclass
class _Pieces:
    """One expectation's results on the slices of a feed file, in order: the check as reported on
    each slice and, for a GX check, GX's result and the slice's first row."""

    checks: list[CheckResult] = field(default_factory=list)
    results: list[tuple[int, ExpectationValidationResult]] = field(default_factory=list)


def _gate_file(
    context: AbstractDataContext,
    name: str,
    feed: FeedFile,
    suite: dict[str, Any],
    parameters: dict[str, Any],
    batches: Mapping[str, pd.DataFrame],
    columns: list[str],
    slice_rows: int,
) -> _Gated:
    """Every check of `suite` on feed file `name`, slice by slice, merged per expectation."""
    expectations = suite["expectations"]
    referenced = _referenced(expectations, parameters, columns)
    unique = [p for p, e in enumerate(expectations) if _whole_file_check(e, columns)]
    per_slice = [p for p in range(len(expectations)) if p not in referenced and p not in unique]
    table_level = {p for p in per_slice if expectations[p]["type"].startswith("expect_table_")}
    pieces = {p: _Pieces() for p in range(len(expectations))}
    first_validation: ExpectationSuiteValidationResult | None = None
    rows = slices = since_release = 0
    for frame in _slices(batches, name, slice_rows):
        # table-level checks (the columns a file has) are judged once, on the first slice
        positions = per_slice if slices == 0 else [p for p in per_slice if p not in table_level]
        # each expectation's id is its position: GX lists those it could not run first
        identified = [{**expectations[p], "id": str(uuid.UUID(int=p))} for p in positions]
        validation = _validate(
            context, name, for_validation(frame, feed), {**suite, "expectations": identified}, parameters
        )
        for result in validation.results:
            config = result.expectation_config
            assert config is not None and config.id is not None, "GX returned a result without its expectation"
            position = uuid.UUID(config.id).int
            pieces[position].results.append((rows, result))
            pieces[position].checks.append(_check_result(name, feed, result, frame))
        for position, keys in referenced.items():
            pieces[position].checks.append(_reference_check(name, feed, expectations[position], frame, keys))
        first_validation = first_validation or validation
        rows += len(frame)
        slices += 1
        since_release += len(frame)
        del frame, validation
        if since_release >= RELEASE_AFTER_ROWS:
            release_freed_memory()
            since_release = 0
    assert first_validation is not None, "a feed file gives at least one slice"
    checks: dict[int, CheckResult] = {}
    page_results: dict[int, ExpectationValidationResult] = {}
    for position in per_slice:
        merged = _merged(pieces[position].results)
        page_results[position] = merged
        checks[position] = _merged_check(pieces[position].checks, bool(merged.success))
    for position in referenced:
        check = _merged_check(pieces[position].checks, not sum(c.unexpected_count for c in pieces[position].checks))
        checks[position] = check
        page_results[position] = _as_gx_result(check, rows)
    for position in unique:
        checks[position], page_results[position] = _uniqueness_check(name, feed, expectations[position], batches, rows)
    # GX's results first, in the suite's order, then those computed in DuckDB, as before slicing
    page_order = [*per_slice, *sorted([*referenced, *unique])]
    page = copy.copy(first_validation)
    page.results = [page_results[position] for position in page_order]
    page.success = all(check.success for check in checks.values())
    successful = sum(1 for result in page.results if result.success)
    page.statistics = {
        **(page.statistics or {}),
        "evaluated_expectations": len(page.results),
        "successful_expectations": successful,
        "unsuccessful_expectations": len(page.results) - successful,
        "success_percent": 100 * successful / len(page.results) if page.results else None,
    }
    return _Gated([checks[p] for p in sorted(checks)], page, page_order, rows, slices)


def _columns(batches: Mapping[str, pd.DataFrame], name: str) -> list[str]:
    if isinstance(batches, StagedBatches):
        return batches.columns(name)
    return [str(column) for column in batches[name].columns]


def _slices(batches: Mapping[str, pd.DataFrame], name: str, rows: int) -> Iterator[pd.DataFrame]:
    """Batch `name`, `rows` at a time (0: at once), in order: read slice by slice if staged."""
    if isinstance(batches, StagedBatches):
        yield from batches.slices(name, rows)
        return
    frame = batches[name]
    if not rows or len(frame) <= rows:
        yield frame
        return
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows]


def _merged(pieces: Sequence[tuple[int, ExpectationValidationResult]]) -> ExpectationValidationResult:
    """GX's result of one expectation on a whole file, from its results on the file's slices
    (each with the position of the slice's first row), figured as GX figures them
    (`great_expectations.expectations.expectation._format_map_output`, `_mostly_success`): row,
    missing and failing counts summed, the percentages of the sums, the first failing values and
    positions in order, the most common of those values counted again. Success: every slice's,
    or for a check with `mostly`, the share of rows judged that pass, on the sums. A check that
    could not run on a slice (a missing column) could not run on the file."""
    first = pieces[0][1]
    if len(pieces) == 1:
        return first
    outcomes = [result.result or {} for _, result in pieces]
    merged: dict[str, Any] = dict(outcomes[0])

    def total(key: str) -> int | None:
        values = [outcome.get(key) for outcome in outcomes]
        return None if any(value is None for value in values) else sum(values)  # type: ignore[arg-type]

    element, unexpected, missing = total("element_count"), total("unexpected_count"), total("missing_count")
    if "element_count" in merged and element is not None:
        nonnull = None if missing is None else element - missing
        merged.update(_map_figures(element, nonnull, unexpected, with_missing="missing_count" in merged))
    if "partial_unexpected_index_list" in merged:  # positions in the slice, made positions in the file
        positions = [
            offset + p for offset, r in pieces for p in (r.result or {}).get("partial_unexpected_index_list") or []
        ]
        merged["partial_unexpected_index_list"] = positions[:EXAMPLES]
    if "partial_unexpected_list" in merged:
        values = [v for _, r in pieces for v in (r.result or {}).get("partial_unexpected_list") or []]
        merged["partial_unexpected_list"] = values[:EXAMPLES]
        merged.pop("partial_unexpected_counts", None)
        counts = _value_counts(merged["partial_unexpected_list"])
        if counts is not None:
            merged["partial_unexpected_counts"] = counts
    mostly = first.expectation_config.kwargs.get("mostly") if first.expectation_config else None
    if mostly is None or any(_raised(result) for _, result in pieces):
        success = all(result.success for _, result in pieces)
    else:
        judged = element if missing is None or element is None else element - missing
        success = not unexpected or not judged or (judged - unexpected) / judged >= float(mostly)
    result = copy.copy(first)
    result.success = success
    result.result = merged
    return result


def _map_figures(element: int, nonnull: int | None, unexpected: int | None, with_missing: bool) -> dict[str, Any]:
    """The counts and percentages of a GX map expectation's result, as GX figures them."""
    missing = None if nonnull is None else element - nonnull
    total = nonmissing = missing_percent = None
    if unexpected is not None and element > 0:
        total = unexpected / element * 100
        if missing is not None:
            missing_percent = missing / element * 100
            nonmissing = unexpected / nonnull * 100 if nonnull else None
        else:
            nonmissing = total
    figures: dict[str, Any] = {
        "element_count": element,
        "unexpected_count": unexpected,
        "unexpected_percent": nonmissing,
    }
    if with_missing:
        figures |= {
            "missing_count": missing,
            "missing_percent": missing_percent,
            "unexpected_percent_total": total,
            "unexpected_percent_nonmissing": nonmissing,
        }
    return figures


def _value_counts(values: list[Any]) -> list[dict[str, Any]] | None:
    """GX's `partial_unexpected_counts` of the first failing values (None where GX gives none:
    values it cannot sort, such as rows of a compound key with a null)."""
    hashable = [tuple(v.values()) if isinstance(v, dict) else v for v in values]
    try:
        common = sorted(Counter(hashable).most_common(EXAMPLES), key=lambda item: (-item[1], item[0]))
    except TypeError:
        return None
    return [{"value": value, "count": count} for value, count in common]


def _merged_check(pieces: Sequence[CheckResult], success: bool) -> CheckResult:
    """One expectation's check on a whole file from its checks on the slices: failing rows
    summed, the first five examples in order (each names its file and row)."""
    examples = [example for piece in pieces for example in piece.examples][:EXAMPLES]
    unexpected = sum(piece.unexpected_count for piece in pieces)
    return replace(pieces[0], success=success, unexpected_count=unexpected, examples=examples)


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


def _feed(agreement: FeedAgreement, name: str, columns: Sequence[str] | None = None) -> FeedFile:
    system, _, file = name.partition(".")
    try:
        feed = agreement.file(system, file)
    except KeyError as exc:
        known = ", ".join(f.qualified_name for f in agreement.files)
        raise ValueError(f"no feed file {name!r} in the agreement (known: {known})") from exc
    missing = [] if columns is None else [c for c in ROW_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"batch {name} lacks lineage column(s) {missing}: the report could not name file and row")
    return feed


def _configured(check: CheckResult, config: GatesConfig) -> CheckResult:
    severity = config.severity_of(check.check_id, check.severity)
    return check if severity == check.severity else replace(check, severity=severity)


def _bind_references(
    name: str,
    suite: dict[str, Any],
    columns: Sequence[str],
    batches: Mapping[str, pd.DataFrame],
    reference_keys: ReferenceKeys | None = None,
) -> tuple[dict[str, Any], dict[str, Any], list[CheckResult]]:
    """The suite to run on batch `name` (of `columns`), the reference key sets it needs, and the
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
            keys = _keys(batches, target, target_column)
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
        # the keys themselves go to the anti-join (_reference_check); GX gets an empty set only
        # when the batch lacks the column, to report the check as one that could not run
        parameters[expectation["kwargs"]["value_set"]["$PARAMETER"]] = keys if column in columns else []
        kept.append(expectation)
    return {**suite, "expectations": kept}, parameters, skipped


def _keys(batches: Mapping[str, pd.DataFrame], name: str, column: str) -> pd.Series | None:
    """The keys `column` of batch `name` holds, None if it has no such column; of a staged batch,
    its distinct values only, read once (`StagedBatches.reference_keys`), so that a file that
    references itself is not read whole. The anti-join takes the distinct non-null keys either way."""
    if isinstance(batches, StagedBatches):
        return batches.reference_keys(name, column)
    frame = batches[name]
    return frame[column] if column in frame.columns else None


def _referenced(
    expectations: Sequence[dict[str, Any]], parameters: dict[str, Any], columns: Sequence[str]
) -> dict[int, pd.Series]:
    """The bound reference checks to run as DuckDB anti-joins, by their position in the suite,
    with their keys.

    A reference check in GX carries every referenced key in its expectation (every account id
    of the bank, each night), which GX serialises and renders again and again; an anti-join of
    the batch's column against the keys finds the same rows (nulls are not checked, as in GX)
    in a fraction of the time. A check whose column the batch lacks stays with GX, which
    reports it as a check that could not run.
    """
    referenced = {}
    for position, expectation in enumerate(expectations):
        parameter = expectation["kwargs"].get("value_set")
        keys = parameters.get(parameter["$PARAMETER"]) if isinstance(parameter, dict) else None
        if isinstance(keys, pd.Series) and expectation["kwargs"].get("column") in columns:
            referenced[position] = keys
    return referenced


def _reference_check(
    name: str, feed: FeedFile, expectation: dict[str, Any], frame: pd.DataFrame, keys: pd.Series
) -> CheckResult:
    """A reference check on one slice of a feed file (`frame`): its values not among `keys`."""
    column = expectation["kwargs"]["column"]
    unexpected, positions = _anti_join(frame[column], keys)
    return CheckResult(
        feed=name,
        expectation=expectation["type"],
        column=column,
        severity=_severity((expectation.get("meta") or {}).get("severity")),
        success=unexpected == 0,
        unexpected_count=unexpected,
        examples=_examples(frame, feed, positions, [column]),
    )


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


def _whole_file_check(expectation: dict[str, Any], columns: Sequence[str]) -> bool:
    """A uniqueness check that DuckDB runs on the whole file; one whose column the batch lacks
    stays with GX, which reports it as a check that could not run."""
    if expectation["type"] not in UNIQUENESS:
        return False
    kwargs = expectation["kwargs"]
    if (
        "row_condition" in kwargs
        or "mostly" in kwargs
        or kwargs.get("ignore_row_if", "all_values_are_missing") != ("all_values_are_missing")
    ):
        # GX's other options would need the whole file in pandas again: refuse rather than judge otherwise
        raise ValueError(
            f"{expectation['type']} with {sorted(kwargs)}: the gate checks uniqueness in DuckDB without them"
        )
    return all(column in columns for column in _key_columns(kwargs))


def _key_columns(kwargs: dict[str, Any]) -> list[str]:
    return [kwargs["column"]] if "column" in kwargs else list(kwargs["column_list"])


def _uniqueness_check(
    name: str, feed: FeedFile, expectation: dict[str, Any], batches: Mapping[str, pd.DataFrame], rows: int
) -> tuple[CheckResult, ExpectationValidationResult]:
    """A uniqueness check on the whole of batch `name` (`rows` rows), in DuckDB: GX's verdict,
    counts and first five rows (`expectations.batches.duplicate_rows`), and its Data Docs entry."""
    import duckdb

    columns = _key_columns(expectation["kwargs"])
    if isinstance(batches, StagedBatches):
        considered, unexpected, found = batches.duplicates(name, columns)
        examples = _examples(found, feed, range(len(found)), columns)
    else:  # a frame in hand: its positions, and the examples from the frame as it was handed over
        frame = batches[name]
        keyed = pd.DataFrame({c: frame[c].reset_index(drop=True) for c in [*ROW_COLUMNS, *columns]})
        keyed["position"] = np.arange(len(frame))
        with duckdb.connect() as con:
            con.register("batch", keyed)
            considered, unexpected, found = duplicate_rows(con, "batch", columns, "position")
        examples = _examples(frame, feed, [int(p) for p in found["position"]], columns)
    check = CheckResult(
        feed=name,
        expectation=expectation["type"],
        column=", ".join(columns),
        severity=_severity((expectation.get("meta") or {}).get("severity")),
        success=unexpected == 0,
        unexpected_count=unexpected,
        examples=examples,
    )
    return check, _as_gx_result(check, rows, expectation["kwargs"], considered)


def _as_gx_result(
    check: CheckResult, rows: int, kwargs: dict[str, Any] | None = None, considered: int | None = None
) -> ExpectationValidationResult:
    """A check run in DuckDB as a GX result for its Data Docs page: a reference check's failing
    values, not the keys (`kwargs` None); a uniqueness check's failing values, with its counts
    figured as GX figures them (`considered`: the rows whose key is not all null)."""
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if kwargs is None:
        kwargs = {"column": check.column, "value_set": ["(the referenced keys, checked in DuckDB)"]}
        result: dict[str, Any] = {
            "element_count": rows,
            "unexpected_count": check.unexpected_count,
            "unexpected_percent": 100 * check.unexpected_count / rows if rows else 0.0,
            "partial_unexpected_list": [example.get(check.column or "") for example in check.examples],
        }
    else:
        columns = _key_columns(kwargs)
        failing = [
            example.get(columns[0]) if "column" in kwargs else {c: example.get(c) for c in columns}
            for example in check.examples
        ]
        result = _map_figures(rows, considered, check.unexpected_count, with_missing=True)
        result["partial_unexpected_list"] = failing
    return ExpectationValidationResult(
        success=check.success,
        expectation_config=ExpectationConfiguration(
            type=check.expectation, kwargs=kwargs, meta={"severity": check.severity}
        ),
        result=result,
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


def _raised(result: ExpectationValidationResult) -> bool:
    """Whether GX could not run the check (an exception, e.g. a missing column)."""
    info = result.exception_info or {}
    return any(raised.get("raised_exception") for raised in [info, *[v for v in info.values() if isinstance(v, dict)]])


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
