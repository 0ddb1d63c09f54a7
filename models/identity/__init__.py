"""Identity resolution: the core system's customer records resolved into customers with
stable customer keys, as the pipeline's `resolve` step (`bankdw.pipeline.resolve_step`).

    normalise.py      normalisation of national ids, phones, e-mails and names (+ DuckDB UDFs)
    records.py        the input: every core customer record's last known state, read from the lake, normalised
    rules.py          the rules in order (national id, name + birth date + phone/e-mail, splink, own record)
    probabilistic.py  rule 3, splink, behind a `LinkageBackend` (DuckDB or Spark, by the setting engine)
    graph.py          connected components (also used for households)
    keys.py           stable keys from the registry of earlier runs, and the merge log
    resolve.py        the step's work: read, resolve, key, write an identity directory
    evaluate.py       precision and recall against the simulator's answer key
    duckdb_plugin.py  the dbt-duckdb plugin registering the normalisation UDFs for dbt models
    spark_udfs.py     the same functions as Spark UDFs, registered in dbt-spark's session

docs/identity.md describes the rules and keys for data stewards.
"""
