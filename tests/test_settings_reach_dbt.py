"""Settings have one home, bankdw/config.py, and reach dbt from there.

The pipeline passes them as `--vars` to every dbt command; a `dbt build` by hand reads the same
defaults from the `vars:` block of dbt_project.yml, which `python -m bankdw.config` generates
from config.py. These tests fail when the block drifts from config.py, when the dbt project
reads a setting that config.py does not define, or when a default is written in dbt again.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from bankdw.config import (
    DBT_PROJECT_YML,
    PATH_VARS,
    PROFILE_VARS,
    PROJECT_ROOT,
    Settings,
    by_hand_dbt_vars,
    committed_dbt_project_vars,
    load_settings,
    render_dbt_project_vars,
)
from bankdw.warehouse import KEPT_DIRS, dbt_args, project_fingerprint
from tests.conftest import dbt_on, gates_toml

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
READS_VAR = re.compile(r"""\bvar\(\s*["']([a-z_]+)["']""")
ENV_VAR = re.compile(r"""\benv_var\(\s*["']([A-Z_]+)["']""")
ENV_VARS_STILL_READ = {
    # the build file of one invocation and the build area of a build on Spark, not settings (the
    # pipeline builds a fresh file each night, and keeps Spark's warehouse in the build area)
    "profiles.yml": {"BANKDW_DBT_PATH", "BANKDW_SPARK_DIR"},
    # the build's stamp, which a Spark night's tests read from that build area (a copy of the
    # DuckDB file's audit.warehouse_build: bankdw.warehouse.SPARK_BUILD_INFO), and the night's test
    # scope the warehouse gate names for its command (bankdw.warehouse.NIGHT_TESTED_SINCE): the
    # run's own facts, not settings
    "macros/night_tests.sql": {"BANKDW_SPARK_DIR", "BANKDW_NIGHT_TESTED_SINCE"},
}


def project_files() -> dict[str, str]:
    """Every file of the dbt project that dbt renders, by its path inside the project."""
    files = [DBT_PROJECT / "dbt_project.yml", DBT_PROJECT / "profiles.yml"]
    for folder in ("models", "macros", "tests", "analyses", "snapshots"):
        files += [p for p in (DBT_PROJECT / folder).rglob("*") if p.suffix in (".sql", ".yml", ".py")]
    return {p.relative_to(DBT_PROJECT).as_posix(): p.read_text(encoding="utf-8") for p in files}


def test_the_vars_block_of_dbt_project_yml_is_what_config_renders() -> None:
    # given the committed dbt_project.yml
    committed = committed_dbt_project_vars(DBT_PROJECT_YML.read_text(encoding="utf-8"))
    # then its generated block is config.py's rendering: if this fails, run
    # `python -m bankdw.config` and commit the result (never edit the block by hand)
    assert committed == render_dbt_project_vars()


def test_by_hand_dbt_reads_the_defaults_of_config_py() -> None:
    # when dbt reads the project's vars (no --vars on the command line)
    project_vars = yaml.safe_load(DBT_PROJECT_YML.read_text(encoding="utf-8"))["vars"]
    # then they are the settings' defaults, paths relative to the folder dbt runs in
    defaults = Settings.model_construct()
    assert project_vars == by_hand_dbt_vars()
    assert project_vars["timezone"] == defaults.timezone
    assert project_vars["calls_window_days"] == defaults.calls_window_days
    assert (DBT_PROJECT / project_vars["lake_dir"]).resolve() == (PROJECT_ROOT / defaults.data_dir / "lake").resolve()
    # and a var only the profile reads is not among them (dbt would ignore it there)
    assert not set(PROFILE_VARS) & set(project_vars)


def test_every_var_the_dbt_project_reads_is_a_setting() -> None:
    # given every var() in the project and its profile
    read = {name for text in project_files().values() for name in READS_VAR.findall(text)}
    # then each is rendered from config.py, and config.py renders none that dbt does not read
    assert read == set(Settings.model_construct().dbt_vars())


def test_no_default_is_written_in_the_dbt_project() -> None:
    # given the dbt project's files
    files = project_files()
    # then no setting is read from the environment (with a default beside it) ...
    env_vars = {path: set(ENV_VAR.findall(text)) for path, text in files.items() if ENV_VAR.search(text)}
    assert env_vars == ENV_VARS_STILL_READ
    # ... and no var() carries a default of its own, except the profile's, which has only --vars
    with_default = {path for path, text in files.items() if re.search(r"""\bvar\(\s*["'][a-z_]+["']\s*,""", text)}
    assert with_default == {"profiles.yml"}


def test_the_pipeline_passes_the_settings_in_force_to_every_dbt_command(tmp_path: Path) -> None:
    # given settings that differ from the defaults
    settings = load_settings(data_dir=tmp_path / "data", timezone="Europe/Zurich", calls_window_days=60, dbt_threads=3)
    # when the pipeline builds its dbt command line
    args = dbt_args(settings, "build")
    # then the settings in force are its vars (overriding dbt_project.yml's) and its threads
    passed = json.loads(args[args.index("--vars") + 1])
    assert passed == settings.dbt_vars(paths_relative_to=settings.root)
    assert (passed["timezone"], passed["calls_window_days"]) == ("Europe/Zurich", 60)
    # and paths are relative to the data dir dbt runs in, so that dbt's saved parse serves a copy of it
    assert passed["lake_dir"] == "lake"
    assert args[args.index("--threads") + 1] == "3"
    # and the build reads the build area's candidate of every kept folder instead of the published one
    built = json.loads((a := dbt_args(settings, "build", build_area=True))[a.index("--vars") + 1])
    kept = {kept.var: kept.build(settings).relative_to(settings.root).as_posix() for kept in KEPT_DIRS}
    assert kept == {"identity_dir": "warehouse/_build/identity", "scores_dir": "warehouse/_build/scores"}
    assert built == passed | kept and all(passed[var] != path for var, path in kept.items())


def test_the_warehouse_tests_follow_the_rules_of_the_gates_configuration(tmp_path: Path) -> None:
    # given a gates configuration where the interest reconciliation only warns, within 20 %, and
    # a date may lie 3 days after its delivery's business date
    section = "[rules.interest_reconciliation]"
    gates = gates_toml(
        tmp_path / "gates.toml",
        ('severity = "blocking"\nshare_tolerance = 0.05', 'severity = "warning"\nshare_tolerance = 0.2'),
        ('severity = "blocking"\nslack_days = 1', 'severity = "blocking"\nslack_days = 3'),
    )
    assert section in gates.read_text(encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", gates_config=gates)
    # when the pipeline builds its dbt command line
    args = dbt_args(settings, "test")
    rules = json.loads(args[args.index("--vars") + 1])["gates"]
    # then the warehouse test reads that severity and tolerance
    assert rules["interest_reconciliation"] == {"severity": "warn", "share_tolerance": 0.2}
    # and the customer events and leads read a call's delivery from that many days before its day
    assert rules["impossible_dates"] == {"severity": "error", "slack_days": 3}
    # and every rule a warehouse test reads through macros/gates.sql is one the configuration has
    read = {
        rule
        for text in project_files().values()
        for rule in re.findall(
            r"gate_(?:severity|amount_tolerance|share_tolerance|slack_days)\('(\w+)'\)|var\('gates'\)\['(\w+)'\]", text
        )
    }
    read = {name for pair in read for name in pair if name}
    expected = {
        "end_of_day_balance",
        "control_totals",
        "interest_reconciliation",
        "reporting_currency",
        "impossible_dates",
    }
    assert expected <= read <= set(rules)


def test_an_incremental_build_needs_the_same_settings(tmp_path: Path) -> None:
    # given the fingerprint of a build with some settings
    settings = load_settings(data_dir=tmp_path / "data")
    # then the same settings give the same fingerprint, and any setting dbt reads changes it
    assert project_fingerprint(settings) == project_fingerprint(load_settings(data_dir=tmp_path / "data"))
    for changed in ({"household_max_members": 7}, {"timezone": "Europe/Zurich"}, {"phone_region": "HK"}):
        other = load_settings(data_dir=tmp_path / "data", **changed)
        assert project_fingerprint(other) != project_fingerprint(settings), changed
    # but not the identity settings: the resolve step uses them, and dbt reads its output as data
    resolved_otherwise = load_settings(data_dir=tmp_path / "data", identity_probabilistic=False)
    assert project_fingerprint(resolved_otherwise) == project_fingerprint(settings)
    # nor how much memory or how many threads DuckDB gets: a night may spill instead of grow
    for how in ({"duckdb_memory_limit": "1GB"}, {"duckdb_threads": 1}):
        assert project_fingerprint(load_settings(data_dir=tmp_path / "data", **how)) == project_fingerprint(settings)
    # nor where the data dir lies: a copy or a restore elsewhere goes on incrementally
    assert set(PATH_VARS) <= set(settings.dbt_vars())
    assert project_fingerprint(load_settings(data_dir=tmp_path / "moved")) == project_fingerprint(settings)


def test_by_hand_the_identity_plugin_uses_the_default_phone_region() -> None:
    """profiles.yml sees only --vars: by hand the plugin falls back to its own default region,
    which must be the settings' default (until the region reaches the UDFs another way)."""
    from models.identity.normalise import DEFAULT_REGION

    assert Settings.model_construct().phone_region == DEFAULT_REGION


@pytest.mark.slow
def test_every_thread_computes_business_dates_in_the_bank_time_zone(tmp_path: Path) -> None:
    """A timestamp of 00:30 in Shanghai is the evening before in UTC: the unit tests of
    int_web_events_sessionised only pass if on-run-start's time zone reached the connection
    they run on, whichever of the two threads that is."""
    from extract.contract import load_agreement
    from extract.lake import Lake

    # given a lake with nothing but the schema files, and two threads (DuckDB's queries on one each,
    # as the suite runs them: tests/conftest.py)
    settings = load_settings(data_dir=tmp_path / "data", dbt_threads=2, duckdb_threads=1)
    Lake(settings.lake_dir).ensure_schemas(load_agreement())
    target = tmp_path / "tz" / "bank.duckdb"
    # when dbt builds the sessions and runs their unit tests
    selection = ["--select", "+int_web_events_sessionised", "--resource-type", "model", "--resource-type", "unit_test"]
    done = dbt_on(settings, target, "build", *selection)
    # then they pass
    assert done.returncode == 0, done.stdout[-5000:]
    results = json.loads((settings.root / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
    unit_tests = [r for r in results["results"] if r["unique_id"].startswith("unit_test.bankdw.int_web_events_sess")]
    assert unit_tests and all(r["status"] == "pass" for r in unit_tests)
    # and on-run-start set the settings' memory limit and threads on DuckDB for the whole invocation
    hooks = [" ".join(r["compiled_code"].split()) for r in results["results"] if "on-run-start" in r["unique_id"]]
    expected = {
        f"set global memory_limit = '{settings.duckdb_memory_limit}'",
        f"set global threads = '{settings.duckdb_threads}'",
    }
    assert expected <= set(hooks)
    assert all(r["status"] == "success" for r in results["results"] if "on-run-start" in r["unique_id"])


def test_a_data_dir_whose_dbt_parsed_other_vars_takes_the_kept_parse_of_its_own(tmp_path: Path) -> None:
    """dbt keeps one parse per target folder; a data dir whose last command had other vars or
    profile (a test's own command after a night, a copy of another data dir) takes the parse the
    setting dbt_parse_cache keeps for the command's own, instead of parsing the whole project."""
    from bankdw.warehouse import PARTIAL_PARSE, build_path, run_dbt

    # given a data dir whose dbt has parsed (or taken from the suite's kept parses) these settings
    first = load_settings(data_dir=tmp_path / "first")
    assert first.dbt_parse_cache is not None  # tests/conftest.py keeps the suite's parses
    done = run_dbt(first, build_path(first), "parse", capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    # and another whose saved parse is not of them (another's, here one dbt cannot read)
    other = load_settings(data_dir=tmp_path / "other")
    (other.root / "dbt" / "target").mkdir(parents=True)
    (other.root / "dbt" / "target" / PARTIAL_PARSE).write_bytes(b"the parse of other vars")
    # when dbt runs there with the same settings
    done = run_dbt(other, build_path(other), "parse", capture=True)
    # then it started from the kept parse: it did not parse the project again (dbt's own log)
    assert done.returncode == 0, done.stdout[-3000:]
    log = (other.root / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Nothing changed, skipping partial parsing" in log and "Failed to load parsed file" not in log


def test_a_data_dir_taken_over_by_a_checkout_elsewhere_parses_that_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt's kept parse names the files of the checkout that made it (a seed's CSV): a release
    installed in a folder of its own, taking over the data dir, does not use the old one's."""
    from bankdw import config
    from bankdw.warehouse import build_path, run_dbt

    # given a data dir (no parse cache shared between data dirs, as a bank's deployment) whose dbt
    # parsed the project of a release in another folder
    settings = load_settings(data_dir=tmp_path / "data", dbt_parse_cache=None)
    old_release = tmp_path / "release-1"
    shutil.copytree(
        settings.dbt_project_dir, old_release / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    with monkeypatch.context() as patch:
        patch.setattr(config, "PROJECT_ROOT", old_release)
        assert settings.dbt_project_dir == old_release / "dbt_project"
        done = run_dbt(settings, build_path(settings), "parse", capture=True)
        assert done.returncode == 0, done.stdout[-3000:]
    # and that release removed since
    shutil.rmtree(old_release)
    # when this checkout loads a seed there
    build_path(settings).parent.mkdir(parents=True)
    done = run_dbt(settings, build_path(settings), "seed", "--select", "unit_costs_per_posting", capture=True)
    # then dbt read this checkout's file
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(build_path(settings)), read_only=True) as con:
        [(schema,)] = con.sql(
            "select schema_name from duckdb_tables() where table_name = 'unit_costs_per_posting'"
        ).fetchall()
        [(rows,)] = con.sql(f"select count(*) from {schema}.unit_costs_per_posting").fetchall()
    assert rows == len((settings.dbt_project_dir / "seeds" / "unit_costs_per_posting.csv").read_text().splitlines()) - 1
