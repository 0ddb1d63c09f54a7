{#
    The bank's time zone, for every connection of the run: `timestamptz -> date` must give the
    bank's business dates. Called once by on-run-start (dbt_project.yml). `set global` reaches
    the connections of every thread, opened before or after it: dbt-duckdb keeps one database
    for the whole invocation (profiles.yml `keep_open`) and gives each thread a cursor of it,
    which sees the global value. The setting itself is var('timezone'), from bankdw/config.py.
    dbt commands without hooks (`dbt show`, `dbt compile`) keep DuckDB's own default.
#}
{% macro set_bank_time_zone() %}
    {{ return(adapter.dispatch('set_bank_time_zone', 'bankdw')()) }}
{% endmacro %}

{% macro default__set_bank_time_zone() %}
    set global TimeZone = '{{ var("timezone") }}'
{% endmacro %}

{#- Spark: the session's time zone, which every thread shares (session mode) and every cast of a
    timestamp to a date follows. -#}
{% macro spark__set_bank_time_zone() %}
    set time zone '{{ var("timezone") }}'
{% endmacro %}

{#
    Decimal arithmetic as DuckDB's (macros/engines_decimals.sql, decimal_quotient): a product keeps every
    decimal of its operands rather than Spark's 6 when its type would pass 38 digits, an overflow
    an error (ANSI mode). Nothing to set on DuckDB (dbt skips an empty hook).
#}
{% macro set_decimal_arithmetic() %}
    {{ return(adapter.dispatch('set_decimal_arithmetic', 'bankdw')()) }}
{% endmacro %}

{% macro default__set_decimal_arithmetic() %}{% endmacro %}

{% macro spark__set_decimal_arithmetic() %}
    set spark.sql.decimalOperations.allowPrecisionLoss = false
{% endmacro %}

{#
    DuckDB's memory limit and spill folder, for the whole invocation like the time zone: a
    build that needs more memory spills to the folder rather than growing. Called by
    on-run-start with ('memory_limit', var('duckdb_memory_limit')) and ('temp_directory',
    var('duckdb_temp_dir')): settings of bankdw/config.py.
#}
{% macro set_duckdb_global(name, value) %}
    {{ return(adapter.dispatch('set_duckdb_global', 'bankdw')(name, value)) }}
{% endmacro %}

{% macro default__set_duckdb_global(name, value) %}
    set global {{ name }} = '{{ value }}'
{% endmacro %}

{#- Spark manages its own memory and spill (the cluster's settings): nothing to set; dbt skips
    an empty hook. -#}
{% macro spark__set_duckdb_global(name, value) %}{% endmacro %}

{#
    The threads DuckDB runs each query with, for the whole invocation: var('duckdb_threads'), the
    setting of bankdw/config.py; 0 leaves DuckDB's default (every core) and the hook empty.
#}
{% macro set_duckdb_threads(threads) %}
    {%- if threads | int > 0 -%}{{ return(set_duckdb_global('threads', threads | int)) }}{%- endif -%}
{% endmacro %}
