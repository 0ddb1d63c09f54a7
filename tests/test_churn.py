"""Churn early warning and campaign response (issue 15, docs/models.md): the label rule,
point-in-time features, the models' figures, the churn reasons and the nightly scores inside
write-audit-publish, kept in the archive of scores through a full refresh and a rollback.

The rules are tested on small inline tables; the model on the shared 2,000-customer bank
(`value_bank`, read only: training reads a copy of its warehouse file, whose views read the
bank's lake) with a 21-day horizon, since that bank holds 70 days; the night on a copy of the
published bank. The targets of the issue (AUC, lift on 3,000 customers x 270 days) are
measured by hand (docs/models.md), not here.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import nbformat
import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

from bankdw import response
from bankdw.churn import train
from bankdw.cli import main
from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import NO_CHURN_MODEL, NO_CLV_MODEL, NO_RESPONSE_MODEL
from bankdw.publish import install_kept, published_state_path
from bankdw.reporting.run_report import RunReport
from bankdw.scores import ARCHIVES, archived_dates, partition_path
from bankdw.warehouse import SCORES
from extract.lake import write_atomically
from models.campaign.features import campaign_history, contacts
from models.campaign.score import ranks
from models.churn import store
from models.churn.evaluate import figures
from models.churn.features import FEATURE_NAMES, FEATURES, compute_features
from models.churn.labels import LabelRule, compute_labels
from models.churn.reasons import top_reasons
from models.churn.score import risk_band, score
from tests.conftest import SYSTEMS, PublishedBank, settings_environment

SHORT = {
    "churn_horizon_days": 21,
    "churn_stay_days": 14,
    "churn_score_interval_days": 3,
    "churn_min_history_days": 14,
}
"""The value bank holds 70 days: a 21-day horizon leaves weeks to train on and weeks to evaluate."""
EDGES = [0.002, 0.02]
"""Risk band edges the model is trained with (the default is 0.1, 0.3), low enough that many
of the value bank's scores (base rate about 0.5%) fall in another band than by the default."""
CUTOFF = date(2026, 10, 8)
RESPONSE_CUTOFF = date(2026, 10, 5)
"""Campaign contacts first called before it train the response model (five weeks of the value
bank's campaigns), those of the weeks from it on evaluate it (four weeks)."""


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The published version's whole build: the features are intermediate models."""
    con = duckdb.connect(str(published_state_path(settings)), read_only=True, config=settings.duckdb_config())
    con.execute(f"set TimeZone = '{settings.timezone}'")
    return con


# ---------------------------------------------------------------- the rules, on inline tables

D = date(2026, 3, 1)


def _bank(days: int = 11) -> duckdb.DuckDBPyConnection:
    """Five customers over D .. D+10, deposit threshold 1,000, horizon 10, stay 5:
    STAYS keeps money and activity; CLOSES has no account open after D+5; DORMANT drains to 10
    on D+4 and is silent from D+3; DIPS drains too but posts once at D+8; ASLEEP was already
    below the threshold and silent on D."""
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_products_current as select 'SAV' as product_code, 'DEPOSIT' as product_family"
    )
    rows, postings = [], []
    for n in range(days):
        day = D + timedelta(days=n)
        rows.append(("STAYS", day, 5000))
        if n <= 5:
            rows.append(("CLOSES", day, 5000))
        rows.append(("DORMANT", day, 5000 if n < 4 else 10))
        rows.append(("DIPS", day, 5000 if n < 4 else 10))
        rows.append(("ASLEEP", day, 10))
        postings.append(("STAYS", day))
        if n < 3:
            postings.append(("DORMANT", day))
    postings.append(("DIPS", D + timedelta(days=8)))
    con.execute(
        "create table intermediate.int_account_balances_keyed "
        "(customer_key varchar, business_date date, product_code varchar, ledger_balance decimal(18, 4))"
    )
    con.executemany("insert into intermediate.int_account_balances_keyed values (?, ?, 'SAV', ?)", rows)
    con.execute(
        "create table intermediate.int_transactions_flagged "
        "(customer_key varchar, posting_date date, is_reversal boolean, channel varchar)"
    )
    con.executemany("insert into intermediate.int_transactions_flagged values (?, ?, false, 'MOBILE')", postings)
    con.execute("create table intermediate.int_web_sessions_keyed (customer_key varchar, session_date date)")
    return con


def test_the_label_rule_counts_closing_and_going_dormant_and_nothing_else() -> None:
    # given the five customers, all scored on D
    con = _bank()
    scored = duckdb.sql(
        "select unnest(['STAYS', 'CLOSES', 'DORMANT', 'DIPS', 'ASLEEP']) as customer_key, ?::date as score_date",
        params=[D],
    ).fetch_arrow_table()
    # when they are labelled with a 10-day horizon
    labels = compute_labels(
        con, scored, LabelRule(horizon_days=10, balance_threshold=1000, activity_threshold=0, stay_days=5)
    )
    # then closing every account and draining plus silence count, a single posting does not,
    # and the customer who was already dormant is not labelled at all
    found = {row["customer_key"]: row for row in labels.to_pylist()}
    assert set(found) == {"STAYS", "CLOSES", "DORMANT", "DIPS"}
    assert {k for k, row in found.items() if row["churned"]} == {"CLOSES", "DORMANT"}
    assert found["CLOSES"]["closed_all"] and not found["CLOSES"]["went_dormant"]
    assert found["DORMANT"]["went_dormant"] and not found["DORMANT"]["closed_all"]
    # and a date whose horizon the warehouse does not hold yet gets no label
    later = duckdb.sql("select 'STAYS' as customer_key, ?::date as score_date", params=[D + timedelta(days=1)])
    assert compute_labels(con, later.fetch_arrow_table(), LabelRule(10, 1000, 0, 5)).num_rows == 0


def test_reasons_push_up_name_a_side_and_skip_the_usual_value() -> None:
    # given one customer's values, the training medians and the model's contributions
    medians = dict.fromkeys(FEATURE_NAMES, 1.0) | {"days_since_salary": 20.0, "balance_change_30d": 0.0}
    values = np.ones((1, len(FEATURES)))
    contributions = np.zeros((1, len(FEATURES)))
    index = {name: i for i, name in enumerate(FEATURE_NAMES)}
    values[0, index["days_since_salary"]], contributions[0, index["days_since_salary"]] = 48, 0.9
    values[0, index["balance_change_30d"]], contributions[0, index["balance_change_30d"]] = -0.6, 0.5
    contributions[0, index["complaints_90d"]] = 0.7  # pushes up, but the value is the usual one
    values[0, index["web_trend"]], contributions[0, index["web_trend"]] = 0.2, -0.4  # pulls down
    values[0, index["n_accounts"]], contributions[0, index["n_accounts"]] = np.nan, 0.3  # unknown
    # when the reasons are chosen
    (reasons,) = top_reasons(values, contributions, medians)
    # then the strongest reasons with an unusual value come first, each saying its side
    assert [r.feature for r in reasons] == ["days_since_salary", "balance_change_30d"]
    assert reasons[0].text == "no salary or pension credited for 48 days (above the usual 20)"
    assert reasons[1].text == "deposits changed by -60% over 30 days (below the usual +0%)"
    assert [r.above_usual for r in reasons] == [True, False]


def test_the_figures_of_a_ranking() -> None:
    # given 20 rows, two churners, ranked first and third
    churned = np.zeros(20, dtype=int)
    churned[[0, 2]] = 1
    probability = np.linspace(0.9, 0.0, 20)
    # when the figures are computed
    found = figures(churned, probability)
    # then the top 10% (two rows) hold one churner of two: precision 0.5, lift 5
    assert found["precision_at_10pct"] == 0.5
    assert found["recall_at_10pct"] == 0.5
    assert found["lift_at_10pct"] == pytest.approx(5.0)
    assert found["auc"] == pytest.approx(1 - 1 / 36)
    assert [risk_band(p, [0.1, 0.3]) for p in (0.05, 0.1, 0.29, 0.3)] == ["LOW", "MEDIUM", "MEDIUM", "HIGH"]
    # and a ranking of ties (a model with no signal gives every row the base rate) finds the base
    # rate in its top 10%, whichever rows come first: lift 1
    tied = figures(churned, np.full(20, 0.1))
    assert (tied["auc"], tied["precision_at_10pct"], tied["lift_at_10pct"]) == pytest.approx((0.5, 0.1, 1.0))
    # and rows tied at the edge of the top count at their share: one sure row, then 3 of 9 tied
    edge = figures(np.array([1] + [1, 0, 0] + [0] * 16), np.array([0.9] + [0.5] * 9 + [0.1] * 10))
    assert edge["precision_at_10pct"] == pytest.approx((1 + 1 / 9) / 2)


def test_a_version_stored_with_isotonic_points_still_scores_by_them() -> None:
    # given a booster, and the metadata of a version stored before the sigmoid (isotonic points
    # mapping every raw probability to half of it) and of one stored after (slope 2, intercept -1)
    import lightgbm

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2))
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4}, lightgbm.Dataset(x, (x[:, 0] > 0).astype(int)), 5
    )
    older = store.ModelMeta(
        **{**_meta_fields(), "calibration_x": [0.0, 1.0], "calibration_y": [0.0, 0.5]}  # type: ignore[arg-type]
    )
    newer = store.ModelMeta(**{**_meta_fields(), "calibration_slope": 2.0, "calibration_intercept": -1.0})  # type: ignore[arg-type]
    # when both score the same rows
    # then the older maps the raw probability by its points, the newer its raw score by the sigmoid
    assert store.calibrated_probability(booster, x, older) == pytest.approx(booster.predict(x) / 2)
    raw = booster.predict(x, raw_score=True)
    assert store.calibrated_probability(booster, x, newer) == pytest.approx(1 / (1 + np.exp(-(2 * raw - 1))))
    # and a version stored after the sigmoid keeps no isotonic points
    assert (newer.calibration_x, newer.calibration_y) == ([], [])


def _meta_fields() -> dict[str, object]:
    return {
        "version": "v",
        "cutoff": "2026-10-08",
        "data_fingerprint": "f",
        "libraries": {},
        "features": ["a", "b"],
        "medians": {},
        "horizon_days": 21,
        "label_rule": {},
        "trained_at": "2026-10-08T00:00:00+00:00",
        "train_rows": 200,
        "train_positives": 100,
    }


# ---------------------------------------------------------------- the model, on the value bank


def _copy_of(value_bank: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("churn") / "data"
    (data / "warehouse").mkdir(parents=True)
    # the whole build (the features are intermediate models), as a warehouse published before states were kept
    shutil.copy2(published_state_path(value_bank), data / "warehouse" / "bank.duckdb")
    # its views name the lake relative to the data dir (bankdw.warehouse.dbt_args): the value
    # bank's deliveries, linked; the lake's audit (model runs) is the copy's own
    (data / "lake").mkdir()
    for system in SYSTEMS:
        (data / "lake" / system).symlink_to(value_bank.lake_dir / system)
    return data


@pytest.fixture(scope="module")
def trained(value_bank: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data dir of its own holding a copy of the value bank's whole build (its views read
    the value bank's lake, linked) and a churn model trained on it with the short horizon and risk
    band edges of its own."""
    settings = load_settings(data_dir=_copy_of(value_bank, tmp_path_factory), **SHORT, churn_risk_band_edges=EDGES)
    train(settings, CUTOFF)
    response.train(settings, RESPONSE_CUTOFF)
    return settings


def test_a_night_without_a_model_scores_nothing_and_says_so(value_bank: Settings) -> None:
    # given the value bank, built by a night before any churn model was trained
    report = RunReport.latest(value_bank)
    assert report is not None
    # then its summary says scoring was skipped, and no scores were published
    assert NO_CHURN_MODEL in report.notes and NO_CHURN_MODEL not in report.warnings
    assert NO_RESPONSE_MODEL in report.notes
    with connect(value_bank) as con:
        assert con.sql("select count(*) from marts.fct_churn_scores").fetchone() == (0,)
        assert con.sql("select count(*) from marts.fct_campaign_propensity").fetchone() == (0,)
        assert con.sql("select count(churn_probability) from marts.customer_360").fetchone() == (0,)


def test_train_and_evaluate_print_the_figures_and_record_the_runs_and_the_notebook_shows_them(
    trained: Settings, value_bank: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a model trained with the cut-off, stored by version in the data dir
    (version,) = store.versions(trained.churn_models_dir)
    model = store.load(trained.churn_models_dir, version)
    assert version.startswith(CUTOFF.isoformat())
    assert model.meta.libraries["lightgbm"] and model.meta.train_positives >= 5
    # when `bankdw models evaluate churn --truth` runs on the held-out period
    env = {"BANKDW_DATA_DIR": str(trained.data_dir)} | settings_environment(SHORT)
    result = CliRunner(env=env).invoke(
        main, ["models", "evaluate", "churn", "--truth", str(value_bank.root / "_truth")]
    )
    assert result.exit_code == 0, result.output
    printed = dict(line.split(": ", 1) for line in result.output.splitlines())
    # then every figure is printed as `name: value`, and they rank churners far above chance
    for name in ("auc", "average_precision", "precision_at_10pct", "recall_at_10pct", "lift_at_10pct", "auc_vs_truth"):
        assert not math.isnan(float(printed[name])), name
    assert float(printed["auc"]) > 0.8
    assert float(printed["lift_at_10pct"]) > 3
    assert float(printed["auc_vs_truth"]) > 0.7
    # and the calibration table is written, its mean probability rising with the churn rate
    calibration = Path(printed["calibration"]).read_text(encoding="utf-8").splitlines()
    assert calibration[0] == "bin,rows,mean_probability,churn_rate" and len(calibration) == 11
    # and the fit and both evaluations are in the lake's audit, read as audit.model_runs builds
    runs = duckdb.sql(
        f"select action, model_version, auc from read_parquet('{trained.lake_dir}/_audit/model_runs/*.parquet') "
        "where model = 'churn' order by ran_at"
    ).fetchall()
    assert [(a, v) for a, v, _ in runs] == [("train", version), ("evaluate", version)]
    assert runs[0][2] == pytest.approx(float(printed["auc"]), abs=1e-4)
    # and the notebook, run top to bottom on the same data dir, shows the same figures, its
    # charts as Vega-Lite specs that render without a CDN
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "churn_early_warning.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert f"auc={float(printed['auc']):.4f}" in text and f"lift_at_10pct={float(printed['lift_at_10pct']):.4f}" in text
    charts = [o for o in outputs if "application/vnd.vegalite.v5+json" in o.get("data", {})]
    assert len(charts) == 4
    assert "cdn." not in json.dumps(outputs)


def test_training_before_any_horizon_is_complete_stores_the_model_and_says_evaluation_waits(
    value_bank: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # given a copy of the value bank whose last date is days after the cut-off: no scoring date
    # from the cut-off on has its 21-day horizon in the warehouse
    data = _copy_of(value_bank, tmp_path_factory)
    settings = load_settings(data_dir=data, **SHORT)
    with connect(settings) as con:
        (last,) = con.sql("select max(business_date) from intermediate.int_account_balances_keyed").fetchone()
    cutoff = last - timedelta(days=5)
    # when `bankdw models train churn` runs with that cut-off
    env = {"BANKDW_DATA_DIR": str(data)} | settings_environment(SHORT)
    result = CliRunner(env=env).invoke(main, ["models", "train", "churn", "--cutoff", cutoff.isoformat()])
    # then it succeeds, stores the version and says when its evaluation can run
    assert result.exit_code == 0, result.output
    printed = dict(line.split(": ", 1) for line in result.output.splitlines())
    assert printed["version"] in store.versions(settings.churn_models_dir)
    ready = cutoff + timedelta(days=SHORT["churn_horizon_days"])
    assert printed["evaluation"].startswith("waits") and ready.isoformat() in printed["evaluation"]
    assert "auc" not in printed
    # and the fit is in the audit, without figures
    runs = duckdb.sql(
        f"select action, model_version, eval_rows, auc from read_parquet('{settings.lake_dir}/_audit/model_runs/*.parquet')"
    ).fetchall()
    assert runs == [("train", printed["version"], 0, None)]
    # and evaluating it later still says why there is nothing yet (an error: the user asked for figures)
    result = CliRunner(env=env).invoke(main, ["models", "evaluate", "churn"])
    assert result.exit_code == 1 and ready.isoformat() in result.output


def test_every_reason_names_a_feature_on_the_side_it_claims(trained: Settings) -> None:
    # given the scores of a held-out date, with their reasons
    model = store.load(trained.churn_models_dir, store.versions(trained.churn_models_dir)[-1])
    day = date(2026, 10, 20)
    with connect(trained) as con:
        scores = score(con, model, day, trained.churn_risk_band_edges).to_pylist()
        features = {row["customer_key"]: row for row in compute_features(con, [day]).to_pylist()}
    # then every reason pushes the score up and its feature's value is on the side it names
    checked = 0
    for row in scores:
        for k in (1, 2, 3):
            feature = row[f"reason_{k}_feature"]
            if feature is None:
                continue
            value, usual = features[row["customer_key"]][feature], model.meta.medians[feature]
            assert row[f"reason_{k}_contribution"] > 0
            assert ("(above the usual" in row[f"reason_{k}"]) == (value > usual), row
            assert ("(below the usual" in row[f"reason_{k}"]) == (value < usual), row
            checked += 1
    assert checked > 1000
    # and the high-risk customers are there, with reasons
    assert any(row["risk_band"] == "HIGH" and row["reason_1"] for row in scores)


# ---------------------------------------------------------------- campaign response, on inline tables


def _calls_bank() -> duckdb.DuckDBPyConnection:
    """Balance snapshots on weekdays 2026-03-02 .. 2026-03-20; campaign calls: A called on
    Wednesday 03-11 (no answer) and Thursday 03-12 (a sale), B on Monday 03-09 (no sale), C on
    03-18 (no sale); one inbound call of A that is no campaign's."""
    con = duckdb.connect()
    con.execute("create schema intermediate")
    days = [date(2026, 3, 2) + timedelta(days=n) for n in range(19)]
    con.execute("create table intermediate.int_account_balances_keyed (customer_key varchar, business_date date)")
    con.executemany(
        "insert into intermediate.int_account_balances_keyed values ('A', ?)", [[d] for d in days if d.weekday() < 5]
    )
    con.execute(
        "create table intermediate.int_calls_keyed "
        "(campaign_id varchar, customer_key varchar, call_date date, direction varchar, outcome varchar)"
    )
    con.executemany(
        "insert into intermediate.int_calls_keyed values (?, ?, ?, ?, ?)",
        [
            ("CMP-1", "A", date(2026, 3, 11), "OUTBOUND", "NO_ANSWER"),
            ("CMP-1", "A", date(2026, 3, 12), "OUTBOUND", "SALE"),
            ("CMP-1", "B", date(2026, 3, 9), "OUTBOUND", "NO_SALE"),
            ("CMP-1", "C", date(2026, 3, 18), "OUTBOUND", "NO_SALE"),
            (None, "A", date(2026, 3, 10), "INBOUND", "RESOLVED"),
        ],
    )
    return con


def test_a_campaign_contact_is_read_as_of_the_business_day_before_its_week() -> None:
    # given campaign calls in the weeks of 03-09 and 03-16
    con = _calls_bank()
    # when the contacts are read
    found = contacts(con).sort_values("customer_key").to_dict(orient="records")
    # then each contact is one row, converted if any call sold, as of the Friday before its week
    assert [(r["customer_key"], r["first_call_date"], r["as_of"], r["converted"]) for r in found] == [
        ("A", date(2026, 3, 11), date(2026, 3, 6), True),
        ("B", date(2026, 3, 9), date(2026, 3, 6), False),
        ("C", date(2026, 3, 18), date(2026, 3, 13), False),
    ]
    # and the campaign history of a date counts only the offers up to it, never the inbound call
    history = campaign_history(con, [date(2026, 3, 6), date(2026, 3, 13)])
    rows = sorted(
        (r["as_of"], r["customer_key"], r["offers_365d"], r["sales_365d"], r["days_since_offer"])
        for r in history.to_dict(orient="records")
    )
    assert rows == [(date(2026, 3, 13), "A", 2, 1, 1), (date(2026, 3, 13), "B", 1, 0, 4)]


def test_propensity_ranks_start_at_one_for_the_highest_and_break_ties_by_key() -> None:
    keys = np.array(["C", "A", "B", "D"])
    assert ranks(keys, np.array([0.2, 0.1, 0.2, 0.3])).tolist() == [3, 4, 2, 1]


def test_response_train_and_evaluate_print_the_figures_and_record_the_runs(trained: Settings) -> None:
    # given a response model trained with its cut-off on the value bank's campaigns
    (version,) = store.versions(trained.response_models_dir)
    meta = json.loads((trained.response_models_dir / version / "model.json").read_text(encoding="utf-8"))
    assert version.startswith(RESPONSE_CUTOFF.isoformat()) and meta["train_positives"] >= 20
    # when `bankdw models evaluate response` runs on the contacts from the cut-off on
    env = {"BANKDW_DATA_DIR": str(trained.data_dir)}
    result = CliRunner(env=env).invoke(main, ["models", "evaluate", "response"])
    assert result.exit_code == 0, result.output
    printed = dict(line.split(": ", 1) for line in result.output.splitlines())
    # then every figure is printed as `name: value`, on held-out contacts only
    assert printed["version"] == version
    for name in ("auc", "average_precision", "precision_at_10pct", "recall_at_10pct", "lift_at_10pct"):
        assert 0 <= float(printed[name]) <= 10, name
    held_out = duckdb.sql(
        f"select min(as_of), count(*), sum(converted::int) from "
        f"read_parquet('{trained.response_models_dir / version / response.HELD_OUT_FILE}')"
    ).fetchone()
    assert held_out is not None and held_out[0] >= RESPONSE_CUTOFF
    assert (held_out[1], held_out[2]) == (int(printed["contacts"]), int(printed["conversions"]))
    # the simulator's sales campaigns convert a quarter of the answered calls at random: the
    # ranking is no better than chance, and the figures must say so rather than pretend
    assert 0.35 < float(printed["auc"]) < 0.65
    # and the calibration table is written, one row per tenth of the contacts
    calibration = Path(printed["calibration"]).read_text(encoding="utf-8").splitlines()
    assert calibration[0] == "bin,rows,mean_probability,conversion_rate" and len(calibration) == 11
    # and the fit and the evaluation are in audit.model_runs, under the model's name
    runs = duckdb.sql(
        f"select action, model_version, auc from read_parquet('{trained.lake_dir}/_audit/model_runs/*.parquet') "
        "where model = 'response' order by ran_at"
    ).fetchall()
    assert [(a, v) for a, v, _ in runs] == [("train", version), ("evaluate", version)]
    assert runs[1][2] == pytest.approx(float(printed["auc"]), abs=1e-4)


def test_the_response_notebook_runs_from_its_folder_and_shows_the_figures_offline(
    trained: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the response model trained on the value bank's copy, its evaluation written beside it
    (version,) = store.versions(trained.response_models_dir)
    (recorded,) = duckdb.sql(
        f"select figures from read_parquet('{trained.lake_dir}/_audit/model_runs/*.parquet') "
        "where model = 'response' and action = 'train'"
    ).fetchone() or (None,)
    fit_figures = json.loads(recorded)
    monkeypatch.setenv("BANKDW_DATA_DIR", str(trained.data_dir))
    # when the notebook runs top to bottom from notebooks/, as a person opens it
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "campaign_response.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}).execute()
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    text = "".join(str(o.get("text", "")) for o in outputs)
    # then it shows the held-out figures the fit recorded, for the version in force
    shown = dict(item.split("=") for item in text.splitlines()[0].split())
    assert shown["version"] == version
    for name in ("contacts", "conversions", "auc", "lift_at_10pct"):
        assert float(shown[name]) == pytest.approx(fit_figures[name], abs=1e-4), name
    # and the past campaigns' totals are the mart's
    with duckdb.connect(str(trained.warehouse_path), read_only=True) as con:
        campaigns, contacted, converted = con.sql(
            "select count(distinct campaign_id), sum(contacted), sum(converted) from marts.fct_campaign_response"
        ).fetchone() or (0, 0, 0)
    assert contacted > 100 and converted > 10
    assert f"campaigns={campaigns} contacted={contacted} " in text and f" converted={converted}" in text
    # and its four charts are PNG images in the notebook itself, nothing loaded from a CDN
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 4
    assert "cdn." not in json.dumps(outputs)


def test_the_first_build_with_an_archive_archives_the_published_scores(tmp_path: Path) -> None:
    # given a warehouse published before scores were archived: its fct_churn_scores holds two nights
    settings = load_settings(data_dir=tmp_path / "data")
    settings.warehouse_path.parent.mkdir(parents=True)
    nulls = ", ".join(
        f"null::varchar as reason_{k}, null::varchar as reason_{k}_feature, "
        f"null::decimal(9, 4) as reason_{k}_contribution"
        for k in (1, 2, 3)
    )
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute(
            f"create table marts.fct_churn_scores as select customer_key, score_date, "
            f"cast(p as decimal(5, 4)) as churn_probability, 'LOW' as risk_band, {nulls}, 'v1' as model_version "
            "from (values ('K1', date '2026-03-02', 0.1234), ('K2', date '2026-03-02', 0.05), "
            "('K1', date '2026-03-03', 0.2)) as t (customer_key, score_date, p)"
        )
    # when a build starts its archive of scores
    from bankdw.scores import start_archive

    root = start_archive(settings)
    # then each published night is a partition of the archive, its rows as published
    assert archived_dates(root, "churn") == [date(2026, 3, 2), date(2026, 3, 3)]
    night = duckdb.read_parquet(str(partition_path(root, "churn", date(2026, 3, 2)))).fetchall()
    assert [(r[0], str(r[2])) for r in night] == [("K1", "0.1234"), ("K2", "0.0500")]
    # and the archive of a model never scored holds its schema only
    assert archived_dates(root, "campaign_response") == []
    assert (root / "campaign_response" / "_schema" / "empty.parquet").exists()


# ---------------------------------------------------------------- a night, on the published bank


@dataclass(frozen=True)
class Night:
    settings: Settings
    report: RunReport
    published_before: str
    """The run id of the version the night followed."""
    features_before: object
    archived: list[dict[str, object]]
    """The churn scores of the published bank's last date, archived before the night."""
    clv_archived: list[dict[str, object]]
    """The lifetime value scores of the published bank's last date, archived before the night."""
    lowered: list[str]
    """The customers whose archived churn score was set a band lower than the model's (LOW)."""


@pytest.fixture(scope="module")
def night(published_bank: PublishedBank, trained: Settings, tmp_path_factory: pytest.TempPathFactory) -> Night:
    """One real night on a copy of the published bank, with the trained models in force. The
    version it follows is given an archived night of churn scores first: its last date, as the
    model scores it on that version's warehouse (written into the version's archive and
    installed, as a night before would have)."""
    from bankdw.pipeline import DateSelection, run

    data = tmp_path_factory.mktemp("night") / "data"
    settings = published_bank.copy(data)
    # the trained models where the default settings look for them (`<data>/models/`): the night's
    # dbt vars are then the published bank's, and dbt reuses its parse (`dbt_parse_cache`)
    # instead of parsing the whole project again for a model dir of its own
    shutil.copytree(trained.churn_models_dir, settings.churn_models_dir)
    shutil.copytree(trained.response_models_dir, settings.response_models_dir)
    day = published_bank.last_date
    model = store.load(trained.churn_models_dir, store.versions(trained.churn_models_dir)[-1])
    with connect(settings) as con:
        features = compute_features(con, [day])
        scored = score(con, model, day)
    reasons = ", ".join(f"cast(reason_{k}_contribution as decimal(9, 4)) as reason_{k}_contribution" for k in (1, 2, 3))
    archived = (
        duckdb.from_arrow(scored)
        .project(f"* replace (cast(churn_probability as decimal(5, 4)) as churn_probability, {reasons})")
        .order("customer_key")
        .to_arrow_table()
        .cast(ARCHIVES["churn"].schema)
    )
    # the three riskiest customers archived a band lower (LOW, 0.1%) than the model scores them:
    # tonight's scores raise their band (CHURN_RISK_UP), where a day's change of features rarely does
    rows = archived.to_pylist()
    riskiest = sorted((r for r in rows if r["risk_band"] != "LOW"), key=lambda r: -r["churn_probability"])[:3]
    for row in riskiest:
        row["churn_probability"], row["risk_band"] = Decimal("0.0010"), "LOW"
    archived = pa.Table.from_pylist(rows, schema=archived.schema)
    run_id = published_bank.report.run_id
    write_atomically(archived, partition_path(SCORES.version_path(settings, run_id), "churn", day))
    clv_archived = clv_night(archived.column("customer_key").to_pylist(), day)
    write_atomically(clv_archived, partition_path(SCORES.version_path(settings, run_id), "clv", day))
    install_kept(settings, run_id)
    report = run(settings, DateSelection(last=published_bank.next_date))
    assert report.outcome == "SUCCESS", report.failures
    lowered = [str(row["customer_key"]) for row in riskiest]
    return Night(settings, report, run_id, features, archived.to_pylist(), clv_archived.to_pylist(), lowered)


def clv_night(customer_keys: list[str], day: date) -> pa.Table:
    """A night of lifetime value scores of these customers, as fct_customer_lifetime_value
    publishes them. Written into an archive by hand: the lifetime value model scores from the
    value tier of the month before the night's, and the published bank's history starts in
    the night's month, so no night of it scores a customer (the model is tested in test_clv)."""
    n = len(customer_keys)
    cents = [Decimal(100 * k + 5) / 100 for k in range(n)]
    return pa.table(
        {
            "customer_key": customer_keys,
            "score_date": [day] * n,
            "value_tier": ["ABCD"[k % 4] for k in range(n)],
            "expected_contribution_12m": cents,
            "expected_contribution_36m": [2 * c for c in cents],
            "clv": [3 * c - 1000 for c in cents],
            "retention_probability": [Decimal("0.9123")] * n,
            "model_version": [f"{day.isoformat()}-handwritten"] * n,
        }
    ).cast(ARCHIVES["clv"].schema)


def test_features_do_not_leak_and_the_night_publishes_scores(
    night: Night, published_bank: PublishedBank, trained: Settings
) -> None:
    """The features of the last published date are the same before and after the next date is
    loaded, and the night scores with the models in force."""
    settings = night.settings
    day = published_bank.last_date
    assert NO_CHURN_MODEL not in night.report.notes and NO_RESPONSE_MODEL not in night.report.notes
    # then the features of the earlier date are unchanged, value for value
    with connect(settings) as con:
        after = compute_features(con, [day])
        before = night.features_before
        assert isinstance(before, type(after))
        assert after.num_rows == before.num_rows > 100
        assert after.to_pylist() == before.to_pylist()
        # and the night scored every customer with an open account on its date, with its version
        # (an incremental night adds its own date: the archived date is not the mart's until a full refresh)
        version = store.versions(trained.churn_models_dir)[-1]
        scored = con.sql(
            "select score_date, count(*), min(model_version), max(model_version) from marts.fct_churn_scores group by 1"
        ).fetchall()
        assert scored == [
            (published_bank.next_date, compute_features(con, [published_bank.next_date]).num_rows, version, version)
        ]
        # and with the model's own risk band edges and horizon, though the night's settings
        # name no churn variable (defaults: 90 days, 0.1 and 0.3)
        model = store.load(trained.churn_models_dir, version)
        assert (model.meta.risk_band_edges, model.meta.horizon_days) == (EDGES, SHORT["churn_horizon_days"])
        assert (settings.churn_risk_band_edges, settings.churn_horizon_days) == ([0.1, 0.3], 90)
        bands = con.sql("select cast(churn_probability as double), risk_band from marts.fct_churn_scores").fetchall()
        assert all(band == risk_band(p, EDGES) for p, band in bands)
        assert any(risk_band(p, EDGES) != risk_band(p, [0.1, 0.3]) for p, _ in bands)
        # and customer_360 shows tonight's score and top reason
        shown = con.sql(
            "select count(*) from marts.customer_360 as c join marts.fct_churn_scores as s using (customer_key) "
            "where c.churn_probability = s.churn_probability and c.churn_risk_band = s.risk_band "
            "and c.churn_top_reason is not distinct from s.reason_1"
        ).fetchone()
        assert shown == (scored[0][1],)
        # and the same customers are ranked for the next campaign, 1 to n, by the response model
        (response_version,) = store.versions(trained.response_models_dir)
        ranked = con.sql(
            "select score_date, count(*), min(propensity_rank), max(propensity_rank), "
            "count(distinct propensity_rank), min(model_version), max(model_version) "
            "from marts.fct_campaign_propensity group by 1"
        ).fetchall()
        n = scored[0][1]
        assert ranked == [(published_bank.next_date, n, 1, n, n, response_version, response_version)]
        top = con.sql(
            "select min(propensity) filter (where propensity_rank <= 10), max(propensity) filter (where propensity_rank > 10) "
            "from marts.fct_campaign_propensity"
        ).fetchone()
        assert top is not None and top[0] >= top[1]
        # and each archive's schema, read from its mart's contract, is the mart's as built
        for archive in ARCHIVES.values():
            assert con.sql(f"select * from marts.{archive.mart} limit 0").to_arrow_table().schema == archive.schema
    # and the archive of scores beside the lake holds the night with the one before it
    assert archived_dates(settings.scores_dir, "churn") == [day, published_bank.next_date]
    assert archived_dates(settings.scores_dir, "campaign_response") == [published_bank.next_date]
    # and the archived night of lifetime values stays archived (no clv model: the night scored none)
    assert archived_dates(settings.scores_dir, "clv") == [day]
    assert NO_CLV_MODEL in night.report.notes


def test_a_churn_risk_band_rising_from_the_night_before_is_an_event_and_weighs_on_leads(
    night: Night, published_bank: PublishedBank
) -> None:
    """CHURN_RISK_UP (docs/crm.md): the customers whose band rose from the archived night's
    score to tonight's, and only they, have the event tonight, with both probabilities."""
    rank = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}
    before = {str(r["customer_key"]): (str(r["risk_band"]), r["churn_probability"]) for r in night.archived}
    tonight = published_bank.next_date
    with duckdb.connect(str(night.settings.warehouse_path), read_only=True) as con:
        scored = con.sql(
            "select customer_key, risk_band, churn_probability from marts.fct_churn_scores where score_date = ?",
            params=[tonight],
        ).fetchall()
        events = con.sql(
            "select customer_key, event_date, severity, measured_value, baseline_value from marts.fct_customer_events"
            " where event_type = 'CHURN_RISK_UP' order by customer_key"
        ).fetchall()
        leads = con.sql(
            "select count(*) from marts.fct_leads where created_date = ? and reason like '%CHURN_RISK_UP%'",
            params=[tonight],
        ).fetchone()
    # the bands that rose from the archived night to tonight (computed here from both nights' rows)
    rises = sorted(
        (key, tonight, 3 if band == "HIGH" else 2, round(100 * p, 2), round(100 * Decimal(str(before[key][1])), 2))
        for key, band, p in scored
        if key in before and rank[band] > rank[before[key][0]]
    )
    assert events == rises
    # among them, every customer the archive lowered (`night`) whom tonight scores above LOW
    above_low = {key for key, band, _ in scored if key in night.lowered and band != "LOW"}
    assert len(night.lowered) == 3 and len(above_low) >= 2 and above_low <= {row[0] for row in events}
    # and each rise is a lead tonight, its reason naming the event (none of them had a lead before)
    assert leads == (len(rises),)


def _scores(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {
            mart: con.sql(f"select * from marts.{mart} order by score_date, customer_key").fetchall()
            for mart in ("fct_churn_scores", "fct_campaign_propensity", "fct_customer_lifetime_value")
        }


def test_scores_survive_a_full_refresh_and_go_with_a_rolled_back_night(
    night: Night, published_bank: PublishedBank, tmp_path: Path
) -> None:
    from bankdw.pipeline import rollback, run

    # given a copy of the night's data dir: two nights of churn scores archived (the night's and
    # the one before), the night's propensities
    settings = load_settings(data_dir=tmp_path / "data")
    shutil.copytree(night.settings.root, settings.root, symlinks=True)  # the models too (`night`)
    # and the night's lifetime values in its archive, as a night with a clv model would have
    # archived them (the published bank's history scores none: `clv_night`)
    next_date, last_date = published_bank.next_date, published_bank.last_date
    night_clv = clv_night([str(r["customer_key"]) for r in night.clv_archived[::2]], next_date)
    write_atomically(night_clv, partition_path(SCORES.version_path(settings, night.report.run_id), "clv", next_date))
    install_kept(settings, night.report.run_id)
    before, published_at = _scores(settings), settings.warehouse_path.stat().st_mtime_ns
    assert before["fct_customer_lifetime_value"] == []  # an incremental night adds only what it scored
    # when the warehouse is built again from the lake, a full refresh, with nothing new delivered
    rebuilt = run(settings, rebuild=True)
    assert rebuilt.outcome == "SUCCESS" and rebuilt.build_mode == "full refresh", rebuilt.failures
    # then it loaded nothing, built and published (tests/test_pipeline.py: without --rebuild
    # such a run does nothing)
    assert (rebuilt.deliveries_loaded, rebuilt.built, bool(rebuilt.published)) == ([], True, True)
    assert settings.warehouse_path.stat().st_mtime_ns != published_at
    # then both nights' churn scores are in the mart, the night's row for row as before, the
    # earlier night's as archived; and the night's propensities are unchanged
    after = _scores(settings)
    assert [r for r in after["fct_churn_scores"] if r[1] == next_date] == before["fct_churn_scores"]
    assert [r for r in after["fct_churn_scores"] if r[1] == last_date] == [tuple(r.values()) for r in night.archived]
    assert len(before["fct_churn_scores"]) > 100 and len(night.archived) > 100
    assert after["fct_campaign_propensity"] == before["fct_campaign_propensity"] != []
    # and both archived nights of lifetime values are in their mart, row for row as archived
    clv_nights = sorted(
        [*night.clv_archived, *night_clv.to_pylist()], key=lambda r: (r["score_date"], r["customer_key"])
    )
    assert after["fct_customer_lifetime_value"] == [tuple(r.values()) for r in clv_nights]
    assert {r[1] for r in after["fct_customer_lifetime_value"]} == {last_date, next_date}
    # when rolled back to the version the night followed
    rollback(settings, to=night.published_before)
    # then the night's scores are gone from the archive (and from what is published); the
    # earlier night's stay, so the next full refresh cannot bring the rolled-back night back
    assert archived_dates(settings.scores_dir, "churn") == [last_date]
    assert archived_dates(settings.scores_dir, "campaign_response") == []
    assert archived_dates(settings.scores_dir, "clv") == [last_date]
    published = _scores(settings)
    assert all(r[1] != next_date for rows in published.values() for r in rows)
