{#
    dbt-duckdb's `table` materialization (1.11.1), building the table under its own name with one
    `create or replace table` (docs/performance.md, "the table materialization in place").

    Why: dbt-duckdb builds `<name>__dbt_tmp`, renames the table to `<name>__dbt_backup`, renames the
    new one into place and drops the backup, after looking up the old table's indexes and key
    constraints: each a statement, an adapter macro call and a change to dbt's relation cache. On
    the suite's bank that was 200 of a full-refresh `dbt run`'s 750 statements, and this file
    saves 7 to 12 per cent of the CPU of a `dbt run` or `dbt build` (measured alternated; the
    full-refresh run, 13 pairs: 20.5 CPU-s on average without it, 19.0 with it). DuckDB's `create or replace table` replaces the
    table within the model's transaction: a model that fails is rolled back and leaves the table it
    had. A model may read its own previous rows (a self-reading table, macros/engines.sql): DuckDB
    reads them before it replaces the table.

    Everything else is dbt-duckdb's: its hooks inside and outside the transaction, the enforced
    contract (the columns checked, the table created with its columns and constraints, then the
    rows inserted: duckdb__create_table_as), indexes, grants, persist_docs, the relation returned to
    dbt's cache. A view at the name is dropped first, in the same transaction. Python models and a
    contracted model that reads its own table (created empty before its rows are inserted) take
    dbt-duckdb's swap by renames here: dbt runs a Python model only from the materialization it
    chose. DuckLake, partitioned or sorted tables and key constraints (which DuckDB ties to table
    names) go to dbt-duckdb's materialization unchanged. Spark's table is dbt-spark's.
    On a dbt-duckdb upgrade, compare its table.sql and duckdb__create_table_as with this.
#}
{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}

    {%- set language = model['language'] -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- if not bankdw_table_covered(target_relation) -%}
        {%- if language != 'sql' -%}
            {#- dbt runs a Python model only from the materialization dbt chose (its macro stack) -#}
            {% do exceptions.raise_compiler_error(
                "macros/table_materialization.sql does not build a Python table model with partitioning, "
                ~ "sorting or DuckLake: extend it or remove it") %}
        {%- endif -%}
        {{ return(dbt.materialization_table_duckdb()) }}
    {%- endif -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set in_place = language == 'sql'
        and not (config.get('contract').enforced and (this | string) in compiled_code) -%}
    {%- if not in_place -%}
        {#- dbt-duckdb's way: built beside the table, swapped in by renames -#}
        {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
        {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
        {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
        {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
        {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
        {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
        {{ drop_relation_if_exists(preexisting_backup_relation) }}
    {%- endif -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}

    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% if in_place %}
        {%- if existing_relation is not none and not existing_relation.is_table %}
            {#- a view (or another type) at this name: dropped inside the transaction -#}
            {% do adapter.ensure_transaction() %}
            {% do adapter.drop_relation(existing_relation) %}
        {%- endif %}
        {% call statement('main') -%}
            {{ bankdw_create_or_replace_table_as(target_relation, compiled_code) }}
        {%- endcall %}
    {% else %}
        {% call statement('main', language=language) -%}
            {{- create_table_as(False, intermediate_relation, compiled_code, language) }}
        {%- endcall %}
        {% if existing_relation is not none %}
            {% do drop_indexes_on_relation(existing_relation) %}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {% endif %}
        {{ adapter.rename_relation(intermediate_relation, target_relation) }}
    {% endif %}

    {% do create_indexes(target_relation) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}

    {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
    {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}
    {% do persist_docs(target_relation, model) %}

    -- `COMMIT` happens here
    {{ adapter.commit() }}

    {% if not in_place %}
        {{ drop_relation_if_exists(backup_relation) }}
    {% endif %}

    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- Whether this materialization builds the model (otherwise dbt-duckdb's does). -#}
{% macro bankdw_table_covered(relation) -%}
    {%- set key_constraints = ['primary_key', 'unique', 'foreign_key'] -%}
    {{- return(
        not adapter.is_ducklake(relation)
        and duckdb__get_partitioned_by(relation, false) is none
        and duckdb__get_sorted_by(relation, false) is none
        and enforced_constraint_types() | select('in', key_constraints) | list | length == 0
    ) -}}
{%- endmacro %}


{#- duckdb__create_table_as (dbt-duckdb 1.11) for a table under its own name, which it replaces. -#}
{% macro bankdw_create_or_replace_table_as(relation, compiled_code) -%}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced -%}
        {{ get_assert_columns_equivalent(compiled_code) }}
    {%- endif -%}
    {%- set sql_header = config.get('sql_header', none) -%}

    {{ sql_header if sql_header is not none }}

    create or replace table {{ relation }}
    {%- if contract_config.enforced %}
        {{ get_table_columns_and_constraints() }} ;
        insert into {{ relation }} {{ get_column_names() }} (
            {{ get_select_subquery(compiled_code) }}
        );
    {%- else %}
        as (
            {{ compiled_code }}
        );
    {%- endif %}
{%- endmacro %}
