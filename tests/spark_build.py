"""Build the models tagged `engine_portable` on Spark and write each as Parquet, for tests/test_spark.py.

`python -m tests.spark_build <data_dir> <out_dir>`: runs `dbt build --select tag:engine_portable`
with the setting engine = spark (the pipeline's own dbt command line, `bankdw.warehouse.dbt_args`),
in this process, so that the Spark session dbt-spark opened (session mode) is still there to
read what it built: every portable model, views included, is written to `<out_dir>/<model>/` as
Parquet (instants as Parquet timestamps, profiles.yml). A process of its own: the JVM and its
Derby metastore end with it, and the test's process never holds Spark.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bankdw.config import load_settings
from bankdw.warehouse import WITHOUT_TESTS, build_path, dbt_args, dbt_environment

PORTABLE = "engine_portable"


def main(data_dir: Path, out_dir: Path) -> None:
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    settings = load_settings(data_dir=data_dir, engine="spark")
    os.environ.update(dbt_environment(settings, build_path(settings)))
    os.chdir(settings.root)  # as `bankdw.warehouse.run_dbt`: dbt's paths are relative to the data dir
    done = dbtRunner().invoke([*dbt_args(settings, "build"), "--select", f"tag:{PORTABLE}", *WITHOUT_TESTS])
    if not done.success:
        raise SystemExit(f"dbt build on Spark failed: {done.exception or 'see the dbt log under the data dir'}")
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))
    spark = SparkSession.builder.getOrCreate()  # the session dbt-spark built with
    built = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and PORTABLE in node["tags"]:
            relation = f"{node['schema']}.{node['alias']}"
            spark.table(relation).coalesce(1).write.parquet(str(out_dir / node["name"]))
            built[node["name"]] = relation
    (out_dir / "models.json").write_text(json.dumps(built, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
