"""GX Data Docs pages for the validations of one run, written under the run's data dir.

The gates run on an in-memory context with no Data Docs site (results hold customer rows
and must not land in the repository or a temporary folder nobody cleans). So instead of a
site built from a results store, each validation result is rendered with GX's own page
renderer and view, the ones its Data Docs sites use, into `runs/<run_id>/data_docs/`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult


def write_validation_page(validation: ExpectationSuiteValidationResult, path: Path) -> Path:
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    document = ValidationResultsPageRenderer().render(validation)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DefaultJinjaPageView().render(document), encoding="utf-8")
    return path


def write_index(docs_dir: Path) -> Path | None:
    """A plain index of the run's validation pages (GX's own index needs a results store)."""
    pages = sorted(p for p in docs_dir.glob("*.html") if p.name != "index.html") if docs_dir.is_dir() else []
    if not pages:
        return None
    items = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>' for p in pages)
    index = docs_dir / "index.html"
    index.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>GX Data Docs</title></head>"
        f"<body><h1>Great Expectations validations</h1><ul>\n{items}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    return index
