"""dbt-duckdb plugin: the normalisation functions of `models.identity_normalise` as DuckDB UDFs.

Registered on every connection dbt opens (profiles.yml `plugins:`), so the intermediate
models normalise national ids, phones, e-mails and names in SQL inside `dbt build`, with
the same code the tests call. The phone region comes from the plugin's config in
profiles.yml (env BANKDW_PHONE_REGION, set by the pipeline from the settings' phone_region).

    bankdw_national_id(varchar) -> varchar
    bankdw_phone_e164(varchar)  -> varchar   E.164, null when not a possible number
    bankdw_email(varchar)       -> varchar
    bankdw_name_fold(varchar)   -> varchar

The UDFs are vectorised (Arrow batches) and compute each distinct value of a batch once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import VARCHAR

from models import identity_normalise as normalise

DEFAULT_REGION = "CN"


def _arrow_udf(function: Callable[[str | None], str | None]) -> Callable[[pa.Array], pa.Array]:
    def udf(values: pa.Array) -> pa.Array:
        return pa.array(normalise.vectorised(function, values.to_pylist()), pa.string())

    return udf


def register(conn: DuckDBPyConnection, phone_region: str = DEFAULT_REGION) -> None:
    """Register the four UDFs on `conn` (also used by the identity benchmark and tests)."""
    phone = partial(normalise.phone_e164, region=phone_region.upper())
    functions: dict[str, Callable[[str | None], str | None]] = {
        "bankdw_national_id": normalise.national_id,
        "bankdw_phone_e164": phone,
        "bankdw_email": normalise.email,
        "bankdw_name_fold": normalise.name,
    }
    for name, function in functions.items():
        conn.create_function(
            name,
            _arrow_udf(function),
            [VARCHAR],
            VARCHAR,
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
            side_effects=False,
        )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.phone_region = str(plugin_config.get("phone_region") or DEFAULT_REGION)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn, self.phone_region)
