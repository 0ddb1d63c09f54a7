"""The batch as GX's pandas metrics need it: one dtype per feed type, whatever the caller had.

Callers hand over what DuckDB or pyarrow gave them: decimals as float64 (`duckdb .df()`),
`decimal.Decimal` objects (pyarrow `to_pandas()`) or `decimal128` ArrowDtype; dates as
datetime64[us], `datetime.date` objects or `date32`; nullable integers as Int64. GX's
`column_values.between` is vectorised only for numpy int/float, naive datetime64[ns] and
tz-aware columns; anything else falls back to a Python call per row, or raises on comparing
`date` with `Timestamp`. So, on a copy:

- decimal and integer -> float64 (range checks only; reports show the original values);
- date -> naive datetime64[ns], timestamp -> datetime64[ns, UTC]; values beyond the
  nanosecond range (0001-01-01, 9999-12-31 sentinels) are clamped to 1678/2261, which
  still fail the 1900-2100 range check instead of overflowing;
- strings, enums and booleans as they are (isin, isnull and duplicated work on any dtype).

The index is reset to 0..n-1, so the row positions GX reports are positions in the batch.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from expectations.rules import SNAPSHOT_DATE
from extract.contract import FeedFile

_NS_LOW = pd.Timestamp("1678-01-01")
_NS_HIGH = pd.Timestamp("2261-12-31")


def for_validation(frame: pd.DataFrame, feed: FeedFile) -> pd.DataFrame:
    """The agreement's columns of `frame` (those present) and its business date, typed for GX;
    other columns dropped.

    Dropping lineage and extra columns keeps the frames GX holds small; the runner takes file
    and row from the original frame by position.
    """
    columns = [c for c in feed.columns if c.name in frame.columns]
    kept = [c.name for c in columns] + ([SNAPSHOT_DATE] if SNAPSHOT_DATE in frame.columns else [])
    out = frame[kept].reset_index(drop=True)
    if SNAPSHOT_DATE in out.columns:  # snapshot keys are unique per business date
        out[SNAPSHOT_DATE] = _convert(out[SNAPSHOT_DATE], "date")
    for column in columns:
        try:
            out[column.name] = _convert(out[column.name], column.type)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{feed.qualified_name}.{column.name}: cannot read {out[column.name].dtype} as {column.type}"
                f" ({exc}); gates expect typed batches from the extract"
            ) from exc
    return out


def _convert(series: pd.Series, column_type: str) -> pd.Series:
    # pandas converts ArrowDtype decimals and dates to numpy one Python object at a time
    # (2-3 s per million rows); pyarrow's own cast first makes it a vectorised copy.
    arrow = isinstance(series.dtype, pd.ArrowDtype)
    if column_type in ("decimal", "integer"):
        return (series.astype(pd.ArrowDtype(pa.float64())) if arrow else series).astype("float64")
    if column_type == "date":
        series = series.astype(pd.ArrowDtype(pa.timestamp("s"))) if arrow else series
        return pd.to_datetime(series).clip(_NS_LOW, _NS_HIGH).astype("datetime64[ns]")
    if column_type == "timestamp":
        utc = pd.to_datetime(series, utc=True)
        return utc.clip(_NS_LOW.tz_localize("UTC"), _NS_HIGH.tz_localize("UTC")).astype("datetime64[ns, UTC]")
    return series
