"""The normalisation functions of `models.identity.normalise` as Spark SQL functions, for the dbt
build on Spark (setting engine = spark, docs/spark.md): what `duckdb_plugin` is to DuckDB.

Python UDFs, not SQL: E.164 needs `phonenumbers` (Google's libphonenumber), which no SQL engine
has, and one definition of each function must serve both engines. Pandas UDFs rather than
row-at-a-time ones: Spark hands the Python worker a batch of values through Arrow, and each
batch is normalised once per distinct value (`normalise.vectorised`, as the DuckDB UDFs do);
not `mapInPandas`, which transforms whole frames: a model calls these by name in its SQL.

dbt-spark registers nothing of ours: `udf_registrar` is a callback of dbt's programmatic runner
(`dbtRunner(callbacks=[...])`) that registers the functions in the session dbt-spark opened, once,
before its first model runs. The Python workers Spark starts must import this package: run dbt
with PYSPARK_PYTHON set to this environment's interpreter (`python_worker_environment`).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd  # at import, not under TYPE_CHECKING: Spark reads a pandas UDF's type hints at run time

from models.identity.normalise import DEFAULT_REGION, sql_functions, vectorised

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def _series_udf(function: Callable[[str | None], str | None]) -> Callable[[pd.Series], pd.Series]:
    def udf(values: pd.Series) -> pd.Series:
        cleaned = [None if pd.isna(value) else value for value in values]  # NaN or NA: a null
        return pd.Series(vectorised(function, cleaned), index=values.index, dtype=object)

    return udf


def register_spark_udfs(spark: SparkSession, phone_region: str = DEFAULT_REGION) -> None:
    """`sql_functions` as pandas UDFs of `spark` (string -> string), for the session's SQL."""
    from pyspark.sql.functions import pandas_udf

    for udf_name, function in sql_functions(phone_region).items():
        spark.udf.register(udf_name, pandas_udf(_series_udf(function), "string"))


def python_worker_environment() -> dict[str, str]:
    """What Spark's Python workers need to run these functions: this interpreter (and its packages)."""
    return {"PYSPARK_PYTHON": sys.executable}


def udf_registrar(phone_region: str = DEFAULT_REGION) -> Callable[[Any], None]:
    """A dbtRunner callback: at the first model dbt starts, the functions are registered in the
    session dbt-spark opened (it opens it for its first statement, before any model: listing
    the schemas, the on-run-start hooks). Called from dbt's threads, so registered under a lock."""
    lock, done = threading.Lock(), threading.Event()

    def callback(event: Any) -> None:
        if done.is_set() or event.info.name != "NodeStart":
            return
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        with lock:
            if done.is_set():
                return
            done.set()
            # Nothing may escape a dbt callback: dbt's worker would die with its node unfinished and
            # the build wait for it for ever. If the functions cannot be registered, the models that
            # call them fail instead, with Spark's error naming the function, and this says why.
            try:
                if SparkContext._active_spark_context is None:
                    raise RuntimeError("dbt-spark opened no Spark session before its first model")
                register_spark_udfs(SparkSession.builder.getOrCreate(), phone_region)
            except Exception:
                log.exception("the normalisation functions could not be registered in dbt's Spark session")

    return callback
