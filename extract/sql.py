"""Values and names written into DuckDB SQL: quoted with the engine's own rules, never pasted.

A path is data like any other: a data directory named `bank's data` must not end a string
literal (issue 19). Everything the warehouse builds SQL from (paths, load ids, dates, column
names from a delivery) goes through these two functions, or is passed as a parameter.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path

DuckDBConfig = Mapping[str, str | bool | int | float | list[str]]
"""The `config` of a DuckDB connection (`duckdb.connect(config=...)`): the installation's memory
limit and where a connection spills (bankdw.config.Settings.duckdb_config)."""


def literal(value: object) -> str:
    """A SQL string literal holding `str(value)` ('' doubles a quote, as DuckDB reads it)."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted identifier (a doubled `"` inside)."""
    return '"' + name.replace('"', '""') + '"'


def path_pattern(path: Path | str, tail: str = "") -> str:
    """A path for DuckDB's file readers, which read every path as a glob pattern: the path's
    own `*`, `?` and `[` (a data directory named `bank[1]`) match only themselves, escaped as
    `[*]`, `[?]` and `[[]` (glob.escape's form, which DuckDB reads alike); `tail`, when given,
    is appended after a `/` as a pattern (`*/*.parquet`). Quote the result with `literal`."""
    escaped = glob.escape(str(path))
    return f"{escaped}/{tail}" if tail else escaped
