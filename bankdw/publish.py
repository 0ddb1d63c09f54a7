"""Published warehouse versions: publish a build, keep the last few, roll back to one.

    <data>/warehouse/bank.duckdb                     what analysts and BI tools open (read-only)
    <data>/warehouse/versions/bank-<run_id>.duckdb   every published build, newest `keep_versions` kept

A published build is moved into `versions/` and then *hard-linked* over the published path:
a link under a temporary name, renamed over `bank.duckdb`. The rename is atomic, so a reader
that opens `bank.duckdb` gets either the old file or the new one, whole, and a reader holding
the old one keeps it until it reconnects. Linking instead of copying costs no time and no
space (a warehouse may be gigabytes); it is safe because nothing opens a published file
for writing. Rolling back swaps an older version in the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bankdw.config import Settings
from bankdw.warehouse import BUILD_INFO_TABLE

log = logging.getLogger(__name__)

VERSION_PREFIX = "bank-"


class RollbackError(Exception):
    """There is no such version, or no version older than the published one."""


@dataclass(frozen=True)
class Version:
    run_id: str
    path: Path
    lake_version: str | None
    built_at: str | None
    published: bool
    size_bytes: int


def versions_dir(settings: Settings) -> Path:
    return settings.warehouse_path.parent / "versions"


def version_path(settings: Settings, run_id: str) -> Path:
    return versions_dir(settings) / f"{VERSION_PREFIX}{run_id}.duckdb"


def publish_version(settings: Settings, built: Path, run_id: str) -> Path:
    """Keep the build as a version, swap it in as the published warehouse, prune old versions."""
    version = version_path(settings, run_id)
    version.parent.mkdir(parents=True, exist_ok=True)
    built.replace(version)
    _swap_in(settings, version)
    log.info("published %s (version %s)", settings.warehouse_path, run_id)
    prune(settings)
    return settings.warehouse_path


def _swap_in(settings: Settings, version: Path) -> None:
    published = settings.warehouse_path
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.name}.{version.stem}.tmp")
    tmp.unlink(missing_ok=True)
    os.link(version, tmp)
    tmp.replace(published)


def _is_published(settings: Settings, path: Path) -> bool:
    published = settings.warehouse_path
    return published.exists() and path.exists() and published.samefile(path)


def list_versions(settings: Settings) -> list[Version]:
    """Every kept version, newest first, with the build stamp it carries."""
    found = []
    for path in sorted(versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb"), reverse=True):
        lake_version = built_at = None
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                row = con.sql(f"select lake_version, built_at from {BUILD_INFO_TABLE}").fetchone()
            if row is not None:
                lake_version, built_at = row[0], str(row[1])
        except duckdb.Error as exc:
            log.warning("version %s cannot be read: %s", path, exc)
        found.append(
            Version(
                run_id=path.stem.removeprefix(VERSION_PREFIX),
                path=path,
                lake_version=lake_version,
                built_at=built_at,
                published=_is_published(settings, path),
                size_bytes=path.stat().st_size,
            )
        )
    return found


def prune(settings: Settings) -> list[Path]:
    """Remove versions beyond the newest `keep_versions`; the published one is always kept."""
    paths = sorted(versions_dir(settings).glob(f"{VERSION_PREFIX}*.duckdb"), reverse=True)
    removed = []
    for path in paths[settings.keep_versions :]:
        if not _is_published(settings, path):
            path.unlink()
            removed.append(path)
    return removed


def rollback(settings: Settings, to: str | None = None) -> Version:
    """Publish an earlier version atomically: `to` (a run id), or the one before the published one."""
    versions = list_versions(settings)
    if to is not None:
        chosen = [v for v in versions if v.run_id == to]
        if not chosen:
            known = ", ".join(v.run_id for v in versions) or "none"
            raise RollbackError(f"no published version {to!r} is kept (kept: {known})")
        target = chosen[0]
    else:
        current = [i for i, v in enumerate(versions) if v.published]
        older = versions[current[0] + 1 :] if current else []
        if not older:
            raise RollbackError("no version older than the published one is kept")
        target = older[0]
    _swap_in(settings, target.path)
    log.info("rolled back: %s now serves version %s", settings.warehouse_path, target.run_id)
    return Version(**{**target.__dict__, "published": True})
