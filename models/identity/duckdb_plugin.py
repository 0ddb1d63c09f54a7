"""dbt-duckdb plugin: the normalisation functions of `models.identity.normalise` as DuckDB UDFs.

Registered on every connection dbt opens (profiles.yml `plugins:`), so the models that match
web users and calls to customers (`int_customer_xref`) normalise e-mails and phones in SQL
with the same code the resolve step and the tests call. The phone region comes from the
plugin's config in profiles.yml (env BANKDW_PHONE_REGION, set by the pipeline from the
settings' phone_region). The core customer records are normalised by the resolve step,
not here (`models.identity.records`).
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from models.identity.normalise import DEFAULT_REGION, register_udfs


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.phone_region = str(plugin_config.get("phone_region") or DEFAULT_REGION)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register_udfs(conn, self.phone_region)
