"""GX Data Docs pages for the validations of one run, written under the run's data dir.

The gates run on an in-memory context with no Data Docs site (results hold customer rows
and must not land in the repository or a temporary folder nobody cleans). So instead of a
site built from a results store, each validation result is rendered with GX's own page
renderer and view, the ones its Data Docs sites use, into `runs/<run_id>/data_docs/`.

The pages must open offline and say what the run did. GX's view loads Bootstrap, jQuery, Vega
and Font Awesome from CDNs, links a favicon and its site's index and suite pages (which a run
does not have), and shows every unmet expectation as a failure. So each page is rewritten
(`_offline`): the remote scripts and stylesheets are dropped for a small inline stylesheet
(`STYLE`: tables and the status marks, what the pages need to read well), the icons become
text, a link to a page that is not there goes to the run's index (or becomes plain text), and
a check the run treated as a warning (its severity in expectations/gates.toml) says "warning",
not failed. GX knows only success or not, and its expectations accept no extra field to carry
a severity; so the page is rendered a second time with those checks as met, and the status
cells that differ between the two are the warnings' (cell ids are positional, the same in
both). Hand-written rather than a vendored
Bootstrap: the pages use a handful of its classes, and a 160 kB stylesheet per page would
outweigh them.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult


EXAMPLES = 5
"""Values a page lists of one expectation's parameters or results; the rest are counted."""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
.container-fluid, .container { padding: 1rem 2rem; }
nav, .ge-breadcrumbs, #section-1-nav, .sticky, .btn-group, .btn { display: none !important; }
.col-md-2, .col-lg-2 { display: none; }
h1, h2, h3, h4, h5 { font-weight: 600; } .h6 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.card { border: 1px solid #ddd; border-radius: 4px; margin: 0 0 1rem; padding: 0.5rem 1rem; }
.card-header { font-weight: 600; }
.text-danger, .outcome-failed { color: #b00020; } .text-success, .outcome-passed { color: #1b7a1b; }
.outcome-warning { color: #8a5a00; background: #fff4d6; }
.badge { border: 1px solid #999; border-radius: 3px; padding: 0 0.3rem; font-size: 0.85rem; }
.collapse:not(.show) { display: block; }
code, pre { font-size: 0.85rem; white-space: pre-wrap; }
"""
"""The pages' own styles, inline (see the module's doc)."""


def write_validation_page(
    validation: ExpectationSuiteValidationResult, path: Path, severities: Sequence[str] | None = None
) -> Path:
    """The page of one validation, rendered from a copy whose values from the data are escaped
    (GX's renderer writes them as HTML: a delivered `<script>` would run in the reader's
    browser) and whose long lists (the keys of a 'value in set' check: every account id in
    use) are cut to `EXAMPLES` and a count. `severities`: of each result, in order (blocking,
    warning), for its Outcome; the page then works offline (see the module's doc)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    page = copy.deepcopy(validation)
    for result in page.results:
        result.result = _safe(result.result)
        config = result.expectation_config
        if config is not None:
            for name, value in config.kwargs.items():
                config.kwargs[name] = _safe(value)
    levels = list(severities or [])
    warned = [i for i, r in enumerate(page.results) if not r.success and i < len(levels) and levels[i] == "warning"]
    failed = [i for i, r in enumerate(page.results) if not r.success and i not in warned]
    title = "Passed" if page.success else ("Failed" if failed else "Passed with warnings")
    view = DefaultJinjaPageView()
    rendered = view.render(ValidationResultsPageRenderer().render(page))
    warning_cells: set[str] = set()
    if warned:
        twin = copy.deepcopy(page)
        for i in warned:
            twin.results[i].success = True
        met = dict(_status_cells(view.render(ValidationResultsPageRenderer().render(twin))))
        warning_cells = {
            cell for cell, icon in _status_cells(rendered) if "fa-times" in icon and "fa-check" in met.get(cell, "")
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_offline(rendered, path.parent, title, warning_cells), encoding="utf-8")
    return path


_CELL_START = r'<div class="show-scrollbars">\s*<span\s*>\s*'
"""How GX's view opens a status cell's content, after its `<td id=...>`."""
_STATUS_CELL = re.compile(
    r'<td id="(section-[\w-]+?-cell-\d+-1)"[^>]*>\s*' + _CELL_START + r'<i class="fas ([\w -]+?)"'
)


def _status_cells(page: str) -> list[tuple[str, str]]:
    """(cell id, icon classes) of every status cell of a rendered validation page."""
    return [(m.group(1), m.group(2)) for m in _STATUS_CELL.finditer(page)]


_REMOTE_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_REMOTE_IMAGE = re.compile(r"""<img\b[^>]*\bsrc=["']?(https?:)?//[^>]*>""", re.IGNORECASE)
_REMOTE_URL = re.compile(r"""url\(\s*["']?(https?:)?//[^)]*\)""", re.IGNORECASE)
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=[^>]*>\s*</script>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""<a\b([^>]*?)\bhref=["']([^"']*)["']([^>]*)>""", re.IGNORECASE)
_STATUS = re.compile(r"(<span class=\"h6\" >Status:</span>\s*)<i [^>]*></i>\s*(Failed|Succeeded|Passed)")
_ICONS = {
    "fa-check-circle text-success": "<span class='outcome-passed'>passed</span>",
    "fa-times text-danger": "<span class='outcome-failed'><strong>failed</strong></span>",
    "fa-exclamation-triangle text-warning": "<span class='outcome-warning'>!</span>",
}


def _offline(page: str, folder: Path, title: str, warning_cells: set[str]) -> str:
    """GX's page with nothing fetched from elsewhere, no link to a page that is not there, and
    the status cells of `warning_cells` saying warning."""
    for cell in warning_cells:
        page = re.sub(
            rf'(<td id="{re.escape(cell)}"[^>]*>\s*{_CELL_START})<i class="fas fa-times text-danger"[^>]*>\s*</i>',
            r"\1<span class='outcome-warning'><strong>warning</strong></span>",
            page,
        )
    page = _SCRIPT_SRC.sub("", page)
    page = _REMOTE_LINK.sub("", page)  # stylesheets from CDNs, the favicon of a site that is not there
    page = _REMOTE_IMAGE.sub("", page)  # GX's logo
    page = _REMOTE_URL.sub("none", page)
    page = page.replace("</head>", f"<style>{STYLE}</style></head>", 1)
    page = _STATUS.sub(lambda m: f"{m.group(1)}<strong>{title}</strong>", page)
    for icon, text in _ICONS.items():
        page = re.sub(rf'<i class="fas {icon}"[^>]*>\s*</i>', text, page)

    def relink(match: re.Match[str]) -> str:
        before, target, after = match.groups()
        if target.startswith(("#", "http://", "https://", "mailto:")) or (folder / target).exists():
            return match.group(0)
        if target.endswith("index.html"):
            return f'<a{before}href="index.html"{after}>'
        return f"<a{before}{after}>"

    return _HREF.sub(relink, page)


def write_index(docs_dir: Path) -> Path | None:
    """A plain index of the run's validation pages (GX's own index needs a results store)."""
    pages = sorted(p for p in docs_dir.glob("*.html") if p.name != "index.html") if docs_dir.is_dir() else []
    if not pages:
        return None
    items = "\n".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>' for p in pages)
    index = docs_dir / "index.html"
    index.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>GX Data Docs</title><style>{STYLE}</style></head>"
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
