"""Folders that readers open through a link switched atomically: the Parquet exports
(`<data>/exports` -> `.exports/<run_id>`) and the dbt docs (`<data>/docs` -> `.docs/<run_id>`).

A reader follows the link once and keeps the folder it found; a new folder is written beside
the others, then the link is replaced in one rename. The folder before stays (a reader may still
hold it); older ones go.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def switch(link: Path, target: Path) -> None:
    """Point `link` at `target` (a folder beside it, named relatively) in one rename."""
    if link.is_dir() and not link.is_symlink():
        # a data dir copied without its links (shutil.copytree) holds a copy of the folder: replaced
        log.warning("%s is a folder, not a link (a copied data dir?): replaced by the link", link)
        shutil.rmtree(link)
    tmp = link.with_name(f".{link.name}.{target.name}.link")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path(target.parent.name) / target.name)
    tmp.replace(link)


def prune(store: Path, keep: Path) -> None:
    """Keep `keep` and the newest folder before it in `store`; remove the others (not those
    being written, whose names start with a dot)."""
    folders = sorted(
        (p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in [p for p in folders if p != keep][1:]:
        shutil.rmtree(old, ignore_errors=True)
