"""Lazy, quiet access to Great Expectations.

Importing GX takes seconds (it imports pandas, scipy and altair and registers every
expectation and metric), so nothing imports it at module level: only a running gate or
the suite generator does. It is also noisy: when the root logger is at INFO, as under
Airflow's structlog set-up, the import logs ~200 "Skipping registering function ..." lines
from `great_expectations._docs_decorators` and "Multiple declarations of metric ..." from
`great_expectations.expectations.registry`, creating a context logs "Loading 'datasources'"
from `great_expectations.datasource.fluent.config`, and every validation draws a tqdm
"Calculating Metrics" progress bar on stderr. `quiet()` and `ephemeral_context()` turn
exactly those off and leave GX's warnings and errors alone.

The default ephemeral context also configures a Data Docs site in a temporary directory
(logging "Created temporary directory ..."); results can hold customer data, so the gates'
context has no docs site at all and keeps its stores in memory.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

NOISY_LOGGERS = (
    "great_expectations._docs_decorators",
    "great_expectations.expectations.registry",
    "great_expectations.datasource.fluent.config",
)


def quiet() -> None:
    """Raise GX's INFO chatter to WARNING; call before the first `import great_expectations`."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # With the extra spark installed GX imports PySpark, which warns at import that it does not
    # fully support pandas 3: a warning about PySpark's pandas API, which the gates never call.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def ephemeral_context() -> AbstractDataContext:
    """A GX context that lives in memory only: nothing is written under the repository."""
    quiet()
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under 1 GB with an md5 of the whole frame, a batch marker
    # (`pandas_data_fingerprint`) that nothing of ours reads: batches are named by run, feed file
    # and slice. It was 7 % of a 100,000-customer night's gate (docs/performance.md); GX has no
    # setting for it, only this module constant.
    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)
