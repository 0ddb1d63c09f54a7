"""Customer lifetime value (issue 14, docs/models.md): the fit and the prediction on a small
inline history, the back-test command and its audit rows on the shared 2,000-customer bank
(`value_bank`, read only: training reads a copy of its warehouse file, whose views read the
bank's lake), and the notebook. The value bank holds two complete months (September and
October), so the back-test here predicts one month; the honest figures of a longer bank are
measured by hand (docs/models.md).
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
import nbformat
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

from bankdw.cli import main
from bankdw.clv import evaluate, train
from bankdw.config import PROJECT_ROOT, Settings, load_settings
from bankdw.pipeline import NO_CLV_MODEL
from bankdw.publish import published_state_path
from bankdw.reporting.run_report import RunReport
from models.clv import store
from models.clv.evaluate import decile_table, figures
from models.clv.fit import FitRule, NotEnoughHistory, fit
from models.clv.predict import predict, survival_sum

AUG, SEP, OCT, NOV = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)
RULE = FitRule(margin_window_months=6, margin_prior_months=1.0, min_segment_customers=2)
CUTOFF = date(2026, 10, 1)


def _history(rows: list[tuple[date, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["month_start", "customer_key", "value_tier", "contribution"])
    return frame.assign(is_complete_month=frame["month_start"] != AUG)


# ---------------------------------------------------------------- the rules, on inline tables


def test_retention_by_tier_and_margins_shrunk_towards_the_tier_keep_their_sign() -> None:
    # given four A customers in August, three still there in September (one LAPSED), a D
    # customer who costs money, and a lone INACTIVE one (too few transitions: pooled rate)
    history = _history(
        [
            (AUG, "a1", "A", 0.0),
            (AUG, "a2", "A", 0.0),
            (AUG, "a3", "A", 0.0),
            (AUG, "a4", "A", 0.0),
            (AUG, "d1", "D", 0.0),
            (AUG, "d2", "D", 0.0),
            (AUG, "i1", "INACTIVE", 0.0),
            (SEP, "a1", "A", 300.0),
            (SEP, "a2", "A", 100.0),
            (SEP, "a3", "A", 200.0),
            (SEP, "a4", "LAPSED", 0.0),
            (SEP, "d1", "D", -60.0),
            (SEP, "d2", "D", -20.0),
            (SEP, "i1", "INACTIVE", 0.0),
            (OCT, "a1", "A", 999.0),  # after the cut-off: never seen by the fit
        ]
    )
    # when the model is fitted with the cut-off on 1 October
    model = fit(history, CUTOFF, RULE)
    # then retention is measured per tier on the August to September move, pooled for a small tier
    assert model.retention["A"] == pytest.approx(3 / 4)
    assert model.retention["D"] == pytest.approx(1.0)
    assert model.retention["INACTIVE"] == pytest.approx(6 / 7) == model.retention["*"]
    # and the tier margins are the means of September (LAPSED customers are not a tier)
    assert model.margin["A"] == pytest.approx(200.0) and model.margin["D"] == pytest.approx(-40.0)
    assert "LAPSED" not in model.margin and model.version.startswith("2026-10-01-")
    # when the customers are predicted as of October
    found = predict(history, model, OCT, {"1m": 1, "12m": 12}, 0.10, 60).set_index("customer_key")
    # then the lapsed customer is not scored, and a margin is shrunk towards its tier's (prior 1 month)
    assert "a4" not in found.index
    assert found.loc["a1", "expected_margin"] == pytest.approx((300 + 200) / 2)
    assert found.loc["a1", "expected_contribution_1m"] == pytest.approx(250 * 0.75)
    assert found.loc["a1", "expected_contribution_12m"] == pytest.approx(250 * sum(0.75**t for t in range(1, 13)))
    assert found.loc["a1", "retention_probability"] == pytest.approx(0.75**12)
    # and a customer who costs the bank money keeps a negative value
    assert found.loc["d1", "expected_margin"] == pytest.approx((-60 - 40) / 2)
    assert found.loc["d1", "clv"] == pytest.approx(-50 * sum(1.1 ** (-t / 12) for t in range(1, 61)))
    assert -50 * 60 < found.loc["d1", "clv"] < 0  # discounted: less negative than 60 undiscounted months


def test_discounting_and_a_fit_without_history() -> None:
    # a customer certain to stay, worth 100 a month: 12 months undiscounted are 1,200; at 10% a
    # year the 12th month is worth 100 / 1.1
    assert survival_sum(np.array([1.0]), 12)[0] == pytest.approx(12)
    discounted = survival_sum(np.array([1.0]), 12, 0.10)[0]
    assert discounted == pytest.approx(sum(1.1 ** (-t / 12) for t in range(1, 13)))
    assert 11 < discounted < 12
    # a cut-off before any second month refuses, saying what to do
    with pytest.raises(NotEnoughHistory, match="later --cutoff"):
        fit(_history([(SEP, "a1", "A", 10.0)]), CUTOFF, RULE)


def test_the_back_test_figures() -> None:
    predicted = np.arange(20, dtype=float)
    actual = predicted * 2
    found = figures(predicted, actual)
    assert found["spearman"] == pytest.approx(1.0)
    assert found["mean_absolute_error"] == pytest.approx(9.5)
    assert found["total_ratio"] == pytest.approx(0.5)
    table = decile_table(predicted, actual)
    assert table["customers"].tolist() == [2] * 10
    assert table["mean_actual"].tolist() == pytest.approx([1, 5, 9, 13, 17, 21, 25, 29, 33, 37])


# ---------------------------------------------------------------- the model, on the value bank


@pytest.fixture(scope="module")
def clv_data(value_bank: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data dir of its own holding a copy of the value bank's published version, whole (its
    intermediate models too, which training reads: `published_state_path`)."""
    data = tmp_path_factory.mktemp("clv") / "data"
    (data / "warehouse").mkdir(parents=True)
    shutil.copy2(published_state_path(value_bank), data / "warehouse" / "bank.duckdb")
    return load_settings(data_dir=data)


def test_train_and_evaluate_print_the_back_test_and_record_the_runs(clv_data: Settings) -> None:
    env = {"BANKDW_DATA_DIR": str(clv_data.data_dir)}
    # given no model: evaluation refuses, naming the command to run
    refused = CliRunner(env=env).invoke(main, ["models", "evaluate", "clv"])
    assert refused.exit_code == 1 and "bankdw models train clv" in refused.output
    # when a model is trained on August and September and back-tested on October
    trained = CliRunner(env=env).invoke(main, ["models", "train", "clv", "--cutoff", "2026-10-01"])
    assert trained.exit_code == 0, trained.output
    evaluated = CliRunner(env=env).invoke(main, ["models", "evaluate", "clv"])
    assert evaluated.exit_code == 0, evaluated.output
    printed = dict(line.split(": ", 1) for line in evaluated.output.splitlines() if ": " in line)
    # then the version names its cut-off, and the figures are printed one a line
    (version,) = store.versions(clv_data.clv_models_dir)
    assert printed["version"] == version and version.startswith("2026-10-01-")
    assert printed["months"] == "1" and int(printed["customers"]) > 1500
    # and the prediction ranks the customers' October contribution well, its total near (the
    # simulator keeps a customer's margin steady from month to month: an easy bank)
    assert float(printed["spearman"]) > 0.6
    assert 0.7 < float(printed["total_ratio"]) < 1.3
    # and the error table has ten deciles, the top one making most of the value
    assert "mean_absolute_error" in evaluated.output.splitlines()[-11]
    deciles = pd.read_csv(printed["deciles"])
    assert len(deciles) == 10 and deciles["mean_actual"].iloc[-1] > 5 * deciles["mean_actual"].iloc[:-1].max()
    # and the fit and the evaluation are in the lake's audit, as audit.model_runs reads them
    runs = duckdb.sql(
        "select model, action, model_version, spearman, figures "
        f"from read_parquet('{clv_data.lake_dir}/_audit/model_runs/*.parquet', union_by_name = true) order by ran_at"
    ).fetchall()
    assert [(m, a, v) for m, a, v, _, _ in runs] == [("clv", "train", version), ("clv", "evaluate", version)]
    assert runs[1][3] == pytest.approx(float(printed["spearman"]), abs=1e-4)
    assert '"retention"' in runs[0][4]
    # and no pickle is written: the version is a JSON file of a few numbers
    assert sorted(p.name for p in (clv_data.clv_models_dir / version).iterdir()) == [
        "deciles.csv",
        "held_out.parquet",
        "model.json",
    ]


def test_the_notebook_runs_from_its_folder_and_shows_the_figures_offline(
    clv_data: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the value bank's copy with a lifetime value model trained on it
    if not store.versions(clv_data.clv_models_dir):
        train(clv_data, date(2026, 10, 1))
    monkeypatch.setenv("BANKDW_DATA_DIR", str(clv_data.data_dir))
    # when the notebook runs top to bottom from notebooks/, as a person opens it
    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "customer_value.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(PROJECT_ROOT / "notebooks")}}).execute()
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    text = "".join(str(o.get("text", "")) for o in outputs)
    # then it shows the figures of the warehouse's last complete month and of the back-test
    with duckdb.connect(str(clv_data.warehouse_path), read_only=True) as con:
        tiers = dict(
            con.sql(
                "select value_tier, count(*) from marts.fct_customer_value_monthly "
                "where month_start = '2026-10-01' group by 1"
            ).fetchall()
        )
    assert "month: 2026-10-01" in text
    assert f"A={tiers['A']}, B={tiers['B']}, C={tiers['C']}, D={tiers['D']}" in text
    top20 = float(text.split("top20_share=")[1].split()[0])
    assert 0.6 < top20 <= 1.0  # the simulator's bank is more concentrated than 80/20
    backtest = evaluate(clv_data, record=False)
    assert f"spearman={backtest.figures['spearman']:.4f}" in text
    # and its five charts are PNG images in the notebook itself, nothing loaded from a CDN
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 5
    assert "cdn." not in json.dumps(outputs)


def test_a_night_without_a_model_scores_nothing_and_says_so(value_bank: Settings) -> None:
    # given the value bank, built by a night before any lifetime value model was trained
    report = RunReport.latest(value_bank)
    assert report is not None
    # then its summary says scoring was skipped, and no lifetime value was published
    assert NO_CLV_MODEL in report.notes and NO_CLV_MODEL not in report.warnings
    with duckdb.connect(str(value_bank.warehouse_path), read_only=True) as con:
        assert con.sql("select count(*) from marts.fct_customer_lifetime_value").fetchone() == (0,)
        assert con.sql("select count(clv) from marts.customer_360").fetchone() == (0,)
