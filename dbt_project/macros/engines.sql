{#
    What differs between the engines the project builds on (docs/spark.md): DuckDB (the target
    `dev`, the default) and Apache Spark (the target `spark`, setting engine). A model says what it
    means once; where the dialects differ it calls a macro here, which dispatches on the adapter
    (`default__` is DuckDB's and renders exactly what the model said before; `spark__` is
    Spark's). Models proven to give the same rows on both carry the tag `engine_portable`
    (dbt_project.yml) and tests/test_spark.py compares them figure for figure.
#}

{#- Types whose names differ. Spark has no unbounded `varchar` (it needs a length) and no
    `timestamptz`: its `timestamp` is the instant (TIMESTAMP_LTZ, shown in the session's time
    zone, which on-run-start sets to the bank's), as DuckDB's `timestamptz` is. -#}
{% macro string_type() -%}
    {{- return(adapter.dispatch('string_type', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__string_type() -%}
    varchar
{%- endmacro %}

{% macro spark__string_type() -%}
    {{- spark_type_name('varchar') -}}
{%- endmacro %}

{% macro timestamptz_type() -%}
    {{- return(adapter.dispatch('timestamptz_type', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__timestamptz_type() -%}
    timestamptz
{%- endmacro %}

{% macro spark__timestamptz_type() -%}
    {{- spark_type_name('timestamptz') -}}
{%- endmacro %}

{% macro spark_type_name(data_type) -%}
    {#- Spark's name of a type as the project writes it (the contracts' data_type included). -#}
    {%- set spark_names = {'varchar': 'string', 'timestamptz': 'timestamp'} -%}
    {{- spark_names.get(data_type | trim | lower, data_type) -}}
{%- endmacro %}

{#- dbt's own cast (the `dbt` namespace looks in this project first): the enforced contracts
    cast null to each column's data_type to learn the type the yml promises, and the yml says
    it in DuckDB's words. On Spark those words are translated; on DuckDB dbt's cast is used. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type_name(type) }})
{%- endmacro %}


{#- Sources. On DuckDB a source is its `external_location` (a read_parquet of the lake, in the
    source's yml). Spark reads the same Parquet files, by path: the lake's layout is
    `<lake_dir>/<system>/<file>/business_date=<D>/*.parquet` (docs/architecture.md), the
    identity's `<identity_dir>/<name>.parquet`. dbt's own `source()` is still called, so that
    the lineage (and what `--select` finds) is the same on both engines. -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {{- return(adapter.dispatch('lake_source', 'bankdw')(relation, source_name, table_name)) -}}
{%- endmacro %}

{% macro default__lake_source(relation, source_name, table_name) -%}
    {{- return(relation) -}}
{%- endmacro %}

{% macro spark__lake_source(relation, source_name, table_name) -%}
    {%- if source_name in ('core_banking', 'online_banking', 'call_center') -%}
        {%- set path = var('lake_dir') ~ '/' ~ source_name ~ '/' ~ table_name ~ '/*/*.parquet' -%}
    {%- elif source_name == 'identity' -%}
        {%- set path = var('identity_dir') ~ '/' ~ table_name ~ '.parquet' -%}
    {%- elif execute -%}
        {#- (parsing the whole project reads every source: a model that is not portable yet fails
            only when it is built) -#}
        {%- do exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ table_name ~ " is not readable on Spark yet (docs/spark.md)"
        ) -%}
    {%- else -%}
        {{- return(relation) -}}
    {%- endif -%}
    {{- return("parquet.`" ~ (path | replace('`', '``')) ~ "`") -}}
{%- endmacro %}

