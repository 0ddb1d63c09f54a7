"""GX Data Docs pages for the validations of one run, written under the run's data dir.

The gates run on an in-memory context with no Data Docs site (results hold customer rows
and must not land in the repository or a temporary folder nobody cleans). So instead of a
site built from a results store, each validation result is rendered with GX's own page
renderer and view, the ones its Data Docs sites use, into `runs/<run_id>/data_docs/`.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult


EXAMPLES = 5
"""Values a page lists of one expectation's parameters or results; the rest are counted."""


def write_validation_page(validation: ExpectationSuiteValidationResult, path: Path) -> Path:
    """The page of one validation, rendered from a copy whose values from the data are escaped
    (GX's renderer writes them as HTML: a delivered `<script>` would run in the reader's
    browser) and whose long lists (the keys of a 'value in set' check: every account id in
    use) are cut to `EXAMPLES` and a count."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    page = copy.deepcopy(validation)
    for result in page.results:
        result.result = _safe(result.result)
        config = result.expectation_config
        if config is not None:
            for name, value in config.kwargs.items():
                config.kwargs[name] = _safe(value)
    document = ValidationResultsPageRenderer().render(page)
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


def _safe(value: Any) -> Any:
    """`value` with every string HTML-escaped and every list cut to `EXAMPLES` items and a count."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {key: _safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        kept = [_safe(item) for item in items[:EXAMPLES]]
        return [*kept, f"... and {len(items) - EXAMPLES:,} more"] if len(items) > EXAMPLES else kept
    return value
