"""`bankdw`: the command line of the warehouse (simulate, run, status, config, models)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bankdw.config import Settings, load_settings
from bankdw.reporting import progress
from bankdw.reporting.run_page import page_path
from bankdw.reporting.terminal import format_run, format_status, format_versions
from simulator.config import Defects

if TYPE_CHECKING:  # the model commands import their modules when they run
    from bankdw.clv import Backtest
    from bankdw.reporting.run_report import RunReport


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """An analytical warehouse for banks: three source feeds to a unified customer view and marts."""
    _setup_logging(verbose)
    try:
        ctx.obj = load_settings()
    except ValueError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def _default_start(settings: Settings, days: int) -> date:
    """Histories end yesterday in the bank's time zone, so the demo warehouse is current."""
    today = datetime.now(settings.tz).date()
    return today - timedelta(days=days)


def _simulate(
    settings: Settings, out: Path, customers: int, days: int, start: date, seed: int, defects: Defects | None = None
) -> None:
    from simulator import SimulationConfig, simulate

    summary = simulate(
        SimulationConfig(
            out=out,
            customers=customers,
            days=days,
            start=start,
            seed=seed,
            timezone=settings.timezone,
            defects=defects or Defects(),
        )
    )
    click.echo(f"Simulated {customers:,} customer records over {days} days from {start} into {out}: {summary}")


def _defect_options(command: Callable[..., None]) -> Callable[..., None]:
    """One `--<defect> RATE` option per field of `Defects`, documented by the field's docstring."""
    for field in reversed(fields(Defects)):
        command = click.option(
            f"--{field.name.replace('_', '-')}",
            field.name,
            type=click.FloatRange(0.0, 1.0),
            default=None,
            help=f"Rate, default {field.default}: {field.metadata['help']}",
        )(command)
    return command


@main.command()
@click.option("--out", type=click.Path(path_type=Path), help="Landing root to write (default: the data dir's).")
@click.option("--customers", type=int, help="Number of customers (default: simulate_customers).")
@click.option("--days", type=int, help="Business days of history (default: simulate_days).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First business date (default: days ago).")
@click.option("--seed", type=int, help="Random seed (default: simulate_seed): same seed, same bytes.")
@click.option("--clean", is_flag=True, help="No defects at all (rates given as options still apply).")
@_defect_options
@click.option(
    "--describe",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Print the distributions a banker sanity-checks for the landing root DIR, simulate nothing.",
)
@click.pass_obj
def simulate(
    settings: Settings,
    out: Path | None,
    customers: int | None,
    days: int | None,
    start: datetime | None,
    seed: int | None,
    clean: bool,
    describe: Path | None,
    **rates: float | None,
) -> None:
    """Write a synthetic bank's deliveries in the format of the feed agreement."""
    if describe is not None:
        from simulator.describe import describe as describe_landing

        click.echo(describe_landing(describe))
        return
    base = Defects.none() if clean else Defects()
    defects = replace(base, **{name: rate for name, rate in rates.items() if rate is not None})
    days = days or settings.simulate_days
    _simulate(
        settings,
        out or settings.landing_dir,
        customers or settings.simulate_customers,
        days,
        start.date() if start else _default_start(settings, days),
        settings.simulate_seed if seed is None else seed,
        defects,
    )


@main.command()
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Load only this business date.")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First business date to load.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last business date to load.")
@click.option(
    "--simulate-if-empty",
    is_flag=True,
    help="If the landing area holds no deliveries, first generate a synthetic bank into it.",
)
@click.option(
    "--rebuild", is_flag=True, help="Build and publish even if no delivery is new (new models or assumptions)."
)
@click.pass_obj
def run(
    settings: Settings,
    on: datetime | None,
    first: datetime | None,
    last: datetime | None,
    simulate_if_empty: bool,
    rebuild: bool,
) -> None:
    """Load pending deliveries (all, one date, or a range), build and publish the warehouse.

    Exits 1 when the run failed (nothing published), 2 when some deliveries were refused
    (the rest is published; the refused stay in the landing area until re-delivered).
    """
    from bankdw.pipeline import DateSelection, GateFailed, RunInProgress
    from bankdw.pipeline import run as run_pipeline
    from bankdw.warehouse import BuildFailed, EngineNotReady

    if on and (first or last):
        raise click.UsageError("use --date alone, or --from/--to")
    if simulate_if_empty and not _has_deliveries(settings.landing_dir):
        click.echo(f"The landing area {settings.landing_dir} is empty: generating a synthetic bank first.")
        _simulate(
            settings,
            settings.landing_dir,
            settings.simulate_customers,
            settings.simulate_days,
            _default_start(settings, settings.simulate_days),
            settings.simulate_seed,
        )
    selection = DateSelection(
        (on or first).date() if (on or first) else None,  # type: ignore[union-attr]
        (on or last).date() if (on or last) else None,  # type: ignore[union-attr]
    )
    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    log_path = settings.root / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    if not verbose:
        click.echo(f"Log (dbt, splink and every step's detail; -v shows them here): {log_path}")
    try:
        with (
            progress.output_to_log(log_path, quiet=not verbose) as terminal,
            progress.listening(_progress_printer(terminal)),
        ):
            report = run_pipeline(settings, selection, rebuild)
    except (RunInProgress, EngineNotReady) as exc:
        raise click.ClickException(str(exc)) from exc
    except (GateFailed, BuildFailed) as exc:
        from bankdw.reporting.run_report import RunReport

        latest = RunReport.latest(settings)
        if latest is not None:
            click.echo(format_run(latest, settings), err=True)
            click.echo(f"Run report: {page_path(settings, latest.run_id)}", err=True)
        raise click.ClickException(str(exc)) from exc
    click.echo(format_run(report, settings))
    click.echo(f"Run report: {page_path(settings, report.run_id)}")
    if report.outcome == "REFUSED":
        # What loaded is published, but a scheduler must notice the refused deliveries.
        sys.exit(2)


def _progress_printer(terminal: TextIO) -> Callable[[RunReport, str, bool], None]:
    def show(report: RunReport, step: str, ok: bool) -> None:
        terminal.write(progress.step_line(report, step, ok) + "\n")
        terminal.flush()

    return show


def _has_deliveries(landing: Path) -> bool:
    """Anything in the landing area, not only what `find_deliveries` would load: synthetic
    data must never be mixed into a landing area that holds a bank's own files."""
    return landing.is_dir() and any(p.is_dir() and any(p.iterdir()) for p in landing.iterdir())


@main.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """What is loaded, what is pending or refused, and the last run's outcome."""
    click.echo(format_status(settings))
    click.echo(format_versions(settings))


@main.command()
@click.option("--to", "to", metavar="VERSION", help="The version (run id) to publish; default: the one before.")
@click.pass_obj
def rollback(settings: Settings, to: str | None) -> None:
    """Publish an earlier kept version of the warehouse, atomically (readers are not blocked)."""
    from bankdw.pipeline import RunInProgress
    from bankdw.pipeline import rollback as roll_back
    from bankdw.publish import RollbackError

    try:
        version = roll_back(settings, to)
    except (RollbackError, RunInProgress) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Published version {version.run_id} (lake version {version.lake_version}) at {settings.warehouse_path}")
    click.echo("The next nightly run builds and publishes the lake's latest state again.")


@main.command()
@click.option("--port", type=int, help="TCP port on 127.0.0.1 (default: serve_port, BANKDW_SERVE_PORT).")
@click.pass_obj
def serve(settings: Settings, port: int | None) -> None:
    """Serve the public marts over PostgreSQL with logins analyst, steward and rm_<rm_id>, in the
    foreground until stopped; reloads each newly published export (docs/serving.md)."""
    from bankdw.serve import serve as serve_marts

    # serve_marts logs "serving on ..." once the server answers, not before
    try:
        serve_marts(settings, port)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command("docs")
@click.option("--serve", "serve_docs", is_flag=True, help="Serve them on http://127.0.0.1:PORT until stopped.")
@click.option("--port", type=int, default=8580, show_default=True, help="Port of --serve.")
@click.option("--open", "open_page", is_flag=True, help="Open them in the browser.")
@click.pass_obj
def show_docs(settings: Settings, serve_docs: bool, port: int, open_page: bool) -> None:
    """The dbt docs of the published warehouse (models, columns and their types, metrics,
    exposures): one file that works offline, written by every publish."""
    import webbrowser

    from bankdw.docs import PAGE, docs_dir

    page = docs_dir(settings) / PAGE
    if not page.exists():
        raise click.ClickException(f"no docs at {page}: they are written by `bankdw run` when it publishes")
    if not serve_docs:
        click.echo(page.absolute().as_uri())
        if open_page:
            webbrowser.open(page.absolute().as_uri())
        return
    import contextlib
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    # the link, not where it points: a publish while serving switches what the next request gets
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(docs_dir(settings).absolute()))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        click.echo(f"Serving the dbt docs on {url} (Ctrl-C stops)")
        if open_page:
            webbrowser.open(url)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


@main.group()
def metrics() -> None:
    """The bank's metrics (the semantic layer, MetricFlow) on the published warehouse, read-only."""


@metrics.command("list")
@click.pass_obj
def list_metrics(settings: Settings) -> None:
    """Every metric, what it means and what it can be grouped by."""
    from bankdw.metrics import Metrics, MetricsUnavailable

    try:
        with Metrics(settings) as engine:
            for name, description, dimensions in engine.list():
                click.echo(f"{name}: {description}")
                click.echo(f"    group by: {', '.join(dimensions)}")
    except MetricsUnavailable as exc:
        raise click.ClickException(str(exc)) from exc


@metrics.command("query")
@click.option("--metrics", "names", required=True, help="Comma-separated metric names (`bankdw metrics list`).")
@click.option("--group-by", default="", help="Comma-separated: metric_time__month, product__product_family, ...")
@click.option(
    "--where",
    "where",
    multiple=True,
    help="A filter, e.g. \"{{ TimeDimension('metric_time', 'month') }} >= '2026-10-01'\".",
)
@click.option("--order-by", default="", help="Comma-separated; a leading '-' sorts descending.")
@click.option("--limit", type=int, help="At most this many rows.")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the rows to this CSV file."
)
@click.option("--explain", is_flag=True, help="Print the SQL MetricFlow writes instead of running it.")
@click.pass_obj
def query_metrics(
    settings: Settings,
    names: str,
    group_by: str,
    where: tuple[str, ...],
    order_by: str,
    limit: int | None,
    csv_path: Path | None,
    explain: bool,
) -> None:
    """Query metrics, e.g. `bankdw metrics query --metrics deposits --group-by metric_time__month`."""
    from bankdw.metrics import Metrics, MetricsUnavailable, write_csv
    from bankdw.reporting.terminal import format_table

    def split(text: str) -> list[str]:
        return [part.strip() for part in text.split(",") if part.strip()]

    try:
        with Metrics(settings) as engine:
            if explain:
                click.echo(engine.explain(split(names), split(group_by), where, split(order_by), limit))
                return
            result = engine.query(split(names), split(group_by), where, split(order_by), limit)
    except MetricsUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # MetricFlow's query errors (unknown metric, bad group-by) say what is wrong
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    if csv_path is not None:
        write_csv(result, csv_path)
        click.echo(f"{len(result.rows)} rows written to {csv_path}")
    else:
        click.echo(format_table(result.columns, result.rows))


@main.command("config")
@click.pass_obj
def show_config(settings: Settings) -> None:
    """The settings in force and where the data lives."""
    for name, value in settings.model_dump().items():
        click.echo(f"{name:24} {value}")
    click.echo(f"{'landing':24} {settings.landing_dir}")
    click.echo(f"{'lake':24} {settings.lake_dir}")
    click.echo(f"{'warehouse':24} {settings.warehouse_path}")


@main.group()
def models() -> None:
    """Train and evaluate the analytical models (docs/models.md)."""


@models.command("train")
@click.argument("model", type=click.Choice(["churn", "clv", "response"]))
@click.option(
    "--cutoff",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Train on scoring dates whose horizon ends before this date; evaluate on those from it on.",
)
@click.pass_obj
def train_model(settings: Settings, model: str, cutoff: datetime) -> None:
    """Fit a model version on the published warehouse and store it in the data directory."""
    if model == "clv":
        _train_clv(settings, cutoff.date())
        return
    if model == "response":
        _run_response(settings, cutoff=cutoff.date())
        return
    from bankdw.churn import train

    try:
        evaluation = train(settings, cutoff.date())
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"version: {evaluation.version}")
    if evaluation.waiting is not None:  # stored and usable; the figures come when the data allows
        click.echo(f"evaluation: waits ({evaluation.waiting})")
        return
    _echo_figures(evaluation.figures)
    click.echo(f"calibration: {evaluation.calibration_path}")


@models.command("evaluate")
@click.argument("model", type=click.Choice(["churn", "clv", "response"]))
@click.option("--version", default="latest", show_default=True, help="The model version to evaluate.")
@click.option(
    "--truth",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="The simulator's answer key (a data dir's _truth/): adds auc_vs_truth.",
)
@click.pass_obj
def evaluate_model(settings: Settings, model: str, version: str, truth: Path | None) -> None:
    """Print a version's figures on the held-out period after its cut-off, one `name: value` a line."""
    if model == "clv":
        _evaluate_clv(settings, version)
        return
    if model == "response":
        _run_response(settings, version=version)
        return
    from bankdw.churn import evaluate

    try:
        evaluation = evaluate(settings, version, truth)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"version: {evaluation.version}")
    _echo_figures(evaluation.figures)
    click.echo(f"calibration: {evaluation.calibration_path}")


def _run_response(settings: Settings, cutoff: date | None = None, version: str = "latest") -> None:
    """Train (with a cut-off) or evaluate the campaign response model, printing its figures."""
    from bankdw import response

    try:
        evaluation = response.train(settings, cutoff) if cutoff else response.evaluate(settings, version)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"version: {evaluation.version}")
    for name, value in evaluation.figures.items():
        click.echo(f"{name}: {value:.0f}" if name in ("contacts", "conversions") else f"{name}: {value:.4f}")
    click.echo(f"calibration: {evaluation.calibration_path}")


def _train_clv(settings: Settings, cutoff: date) -> None:
    from bankdw.clv import train

    try:
        _echo_backtest(train(settings, cutoff))
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _evaluate_clv(settings: Settings, version: str) -> None:
    from bankdw.clv import evaluate

    try:
        _echo_backtest(evaluate(settings, version))
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_backtest(backtest: Backtest) -> None:
    """The lifetime value back-test: `name: value` lines, then the error by predicted decile."""
    click.echo(f"version: {backtest.version}")
    for name, value in backtest.figures.items():
        click.echo(f"{name}: {value:.0f}" if name in ("months", "customers") else f"{name}: {value:.4f}")
    click.echo(f"deciles: {backtest.deciles_path}")
    click.echo(backtest.deciles.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def _echo_figures(figures: dict[str, float]) -> None:
    for name, value in figures.items():
        click.echo(f"{name}: {value:.0f}" if name in ("rows", "churners") else f"{name}: {value:.4f}")
