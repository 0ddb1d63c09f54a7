"""Who may read what the warehouse writes: its owner, and a configured group at most.

The lake (typed customer rows), its quarantine (raw customer lines), the run reports and Data
Docs, the dbt target and the warehouse files hold the bank's customer data. Every step writes
them under a umask of its own (`077`: owner only; `027` with setting `data_group`: the group
may read), whatever the caller's umask, and the folders that hold them are owner-only (or
group-readable, setgid so that what is created inside keeps the group). The landing area is
not touched: the source systems write there, and its permissions are theirs to set.
"""

from __future__ import annotations

import grp
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bankdw.config import Settings

OWNER_ONLY, GROUP_READ = 0o077, 0o027


def private_dirs(settings: Settings) -> list[Path]:
    """The folders of the data directory that hold the bank's data and that the warehouse owns."""
    return [settings.lake_dir, settings.runs_dir, settings.warehouse_path.parent, settings.root / "dbt"]


@contextmanager
def private_files(settings: Settings) -> Iterator[None]:
    """Create files owner-only (or group-readable by `data_group`) while the block runs."""
    group = settings.data_group
    previous = os.umask(GROUP_READ if group else OWNER_ONLY)
    try:
        gid = grp.getgrnam(group).gr_gid if group else None
        for folder in private_dirs(settings):
            folder.mkdir(parents=True, exist_ok=True)
            if folder.stat().st_uid != os.getuid():
                continue  # another owner's folder: theirs to set (the umask still holds for what we write)
            if gid is not None:
                os.chown(folder, -1, gid)
                folder.chmod(0o2750)
            else:
                folder.chmod(0o700)
        yield
    finally:
        os.umask(previous)
