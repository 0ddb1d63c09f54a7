"""Write the gate suites: `python -m expectations.generate`.

Run it after changing extract/feeds/feeds.yml or expectations/rules.py and commit the
result; `tests/test_gates.py` fails while the committed suites differ from what this writes.
Files for feed files that no longer exist are removed, so a dropped file cannot keep a stale gate.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from expectations.suites import SUITES_DIR, render_suites
from extract.contract import load_agreement

log = logging.getLogger(__name__)


def write_suites(suites_dir: Path = SUITES_DIR) -> list[Path]:
    """Write every suite; return the files whose content changed (written or removed)."""
    rendered = render_suites(load_agreement())
    suites_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in rendered.items():
        path = suites_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in sorted(set(suites_dir.glob("*.json")) - {suites_dir / n for n in rendered}):
        stale.unlink()
        changed.append(stale)
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m expectations.generate", description=__doc__)
    parser.add_argument("--suites-dir", type=Path, default=SUITES_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    changed = write_suites(args.suites_dir)
    for path in changed:
        log.info("updated %s", path)
    log.info("%d suite file(s) changed in %s", len(changed), args.suites_dir)


if __name__ == "__main__":
    main()
