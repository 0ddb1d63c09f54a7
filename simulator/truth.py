"""The answer key: who is who, who left, and every defect injected.

Written to `_truth/` beside the landing area (never inside it, so no pipeline loads it) for
tests and evaluations of the warehouse: `persons.csv` says which source records are the same
person (what entity resolution should find: customer ids, web users, calls), `churners.csv`
who left, when, from when they showed signs (their leaving day for silent churners) and when
their income stopped, `lookalikes.csv` who looked like leaving for a spell and stayed,
`defects.csv` each injected defect with the delivery, file and key or line where it sits;
`superseded/` (written by `delivery`) keeps the first versions of re-delivered dates.
Columns are only ever added at the end.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .config import SimulationConfig
from .formats import dates, integers, numbered, text
from .writer import content, csv_lines, encode_csv

DEFECT_COLUMNS = ("kind", "system", "business_date", "file", "key", "line", "detail")


def _strings(value: pa.Array | np.ndarray | str, n: int) -> pa.Array:
    if isinstance(value, str):
        return pa.array([value] * n, pa.string())
    if isinstance(value, np.ndarray):
        return text(value.astype(str))
    return value


@dataclass
class DefectLog:
    """Defects as they are injected; `line` is the 1-based line in the file where it matters.

    A long run does not hold them all until the end: once every delivery of a business date
    is written, `settle` appends that date's defects (and earlier ones) to `defects.csv`, in
    the file's order (by date, system, file, line, kind, key), and forgets them. Any thread
    may add; settling and adding share a lock.
    """

    parts: list[pa.Table] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    path: Path | None = None
    """Where settled defects were appended so far (None: nothing written yet)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        kind: str,
        system: str,
        day: np.ndarray,
        file: pa.Array | np.ndarray | str,
        key: pa.Array | np.ndarray,
        detail: pa.Array | np.ndarray | str,
        line: np.ndarray | None = None,
    ) -> None:
        n = len(day)
        if n == 0:
            return
        part = pa.table(
            {
                "kind": _strings(kind, n),
                "system": _strings(system, n),
                "business_date": dates(day),
                "file": _strings(file, n),
                "key": _strings(key, n),
                "line": integers(line) if line is not None else pa.nulls(n, pa.string()),
                "detail": _strings(detail, n),
                "_line": pa.array(line if line is not None else np.zeros(n, np.int64), pa.int64()),
                "_day": pa.array(np.asarray(day, np.int64)),
            }
        )
        with self.lock:
            self.parts.append(part)
            self.counts[kind] += n

    def _take(self, through: int | None) -> pa.Table:
        """The defects of dates up to `through` (all when None) in the file's order, forgotten here."""
        with self.lock:
            parts, self.parts = self.parts, []
        if not parts:
            return pa.table({name: pa.array([], pa.string()) for name in DEFECT_COLUMNS})
        merged = pa.concat_tables(parts)
        if through is not None:
            settled = pc.less_equal(merged["_day"], through)
            later = merged.filter(pc.invert(settled))
            if later.num_rows:
                with self.lock:
                    self.parts.insert(0, later)
            merged = merged.filter(settled)
        merged = merged.sort_by([(c, "ascending") for c in ("business_date", "system", "file", "_line", "kind", "key")])
        return merged.select(list(DEFECT_COLUMNS))

    def settle(self, through: int, path: Path) -> None:
        """Append the defects of dates up to `through` to `path` (a new file the first time)."""
        table = self._take(through)
        if table.num_rows == 0:
            return
        if self.path != path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode_csv(table.slice(0, 0)))
            self.path = path
        with path.open("ab") as out:
            out.write(content(csv_lines(table)))

    def write(self, path: Path) -> None:
        """Write what is not settled yet after what was (the whole file if nothing was)."""
        table = self._take(None)
        if self.path != path:
            path.write_bytes(encode_csv(table))
            self.path = path
            return
        with path.open("ab") as out:
            out.write(content(csv_lines(table)))

    def kinds(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


@dataclass
class Truth:
    persons: list[pa.Table] = field(default_factory=list)
    churners: pa.Table | None = None
    lookalikes: pa.Table | None = None
    defects: DefectLog = field(default_factory=DefectLog)

    def add_persons(self, system: str, table: str, keys: pa.Array, person: np.ndarray) -> None:
        self.persons.append(
            pa.table(
                {
                    "source_system": pa.array([system] * len(keys), pa.string()),
                    "source_table": pa.array([table] * len(keys), pa.string()),
                    "source_key": keys,
                    "person_id": numbered("P", np.asarray(person) + 1, 7),
                }
            )
        )

    def write(self, config: SimulationConfig) -> None:
        out = config.truth_dir
        out.mkdir(parents=True, exist_ok=True)
        persons = pa.concat_tables(self.persons)
        _write(out / "persons.csv", persons)
        if self.churners is not None:
            _write(out / "churners.csv", self.churners)
        if self.lookalikes is not None:
            _write(out / "lookalikes.csv", self.lookalikes)
        self.defects.write(out / "defects.csv")
        settings = asdict(config)
        del settings["out"]  # the same bank wherever it is written
        settings["start"] = config.start.isoformat()
        settings["defect_counts"] = self.defects.kinds()
        (out / "simulation.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def _write(path: Path, table: pa.Table) -> None:
    path.write_bytes(encode_csv(table))
