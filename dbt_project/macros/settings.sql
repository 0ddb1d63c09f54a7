{#
    The bank's time zone, for every connection of the run: `timestamptz -> date` must give the
    bank's business dates. Called once by on-run-start (dbt_project.yml). `set global` reaches
    the connections of every thread, opened before or after it: dbt-duckdb keeps one database
    for the whole invocation (profiles.yml `keep_open`) and gives each thread a cursor of it,
    which sees the global value. The setting itself is var('timezone'), from bankdw/config.py.
    dbt commands without hooks (`dbt show`, `dbt compile`) keep DuckDB's own default.
#}
{% macro set_bank_time_zone() %}
    set global TimeZone = '{{ var("timezone") }}'
{% endmacro %}
