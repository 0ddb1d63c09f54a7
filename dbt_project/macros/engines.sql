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
    {%- set spark_names = {
        'varchar': 'string',
        'timestamptz': 'timestamp',
        'timestamp with time zone': 'timestamp',
    } -%}
    {{- spark_names.get(data_type | trim | lower, data_type) -}}
{%- endmacro %}

{#- dbt's own cast (the `dbt` namespace looks in this project first): the enforced contracts
    cast null to each column's data_type to learn the type the yml promises, and the yml says
    it in DuckDB's words. On Spark those words are translated; on DuckDB dbt's cast is used. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type_name(type) }})
{%- endmacro %}


{#- dbt's persist_docs on Spark (the `dbt` namespace looks in this project first). The marts
    persist their column docs (dbt_project.yml); dbt-spark's macro describes the table
    (`describe extended`, a statement) to learn its columns, then comments them only on a Delta,
    Hudi or Iceberg table: on our Parquet tables (file_format) the describe was all it did, once
    for every mart of every build. The table's own comment is in its `create table`, as before. -#}
{% macro spark__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- if config.get('file_format', 'parquet') in ('delta', 'hudi', 'iceberg') -%}
        {{- return(dbt.spark__persist_docs(relation, model, for_relation, for_columns)) -}}
    {%- endif -%}
{%- endmacro %}


{#- Seeds. Their yml gives column types in DuckDB's words (`varchar`); dbt-spark's seed writes
    them into its `create table` as they are, so on Spark they are translated first, then
    dbt-spark's own macro creates the table. -#}
{% macro spark__create_csv_table(model, agate_table) -%}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- for column, data_type in column_types.items() | list -%}
        {%- do column_types.update({column: spark_type_name(data_type)}) -%}
    {%- endfor -%}
    {{- return(dbt.spark__create_csv_table(model, agate_table)) -}}
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
    {%- elif source_name == 'scores' -%}
        {#- the archive of the nightly scores (bankdw/scores.py): a file per score date, which
            holds its score_date, and the zero-row schema file `_schema/empty.parquet` (a folder
            name starting with `_` matched by the pattern is read; a file name would not be) -#}
        {%- set path = var('scores_dir') ~ '/' ~ table_name ~ '/*/*.parquet' -%}
    {%- elif source_name == 'identity' -%}
        {%- set path = var('identity_dir') ~ '/' ~ table_name ~ '.parquet' -%}
    {%- elif source_name == 'lake_audit' and table_name == 'loads' -%}
        {#- the load audit, which the incremental models read (macros/incremental.sql,
            newer_delivered_from): one file per load and the zero-row schema file -#}
        {%- set path = var('lake_dir') ~ '/_audit/loads/*.parquet' -%}
    {%- elif source_name == 'lake_audit' and table_name in ('checks', 'quarantine') -%}
        {#- the check history (with the analytical models' runs, which DuckDB's source also reads
            under `_audit/`; the loads have a source of their own) and the quarantine, with
            DuckDB's `filename` column (lake_file_name); the files' schemas merged by name as
            DuckDB's union_by_name does (the profile's spark.sql.parquet.mergeSchema). Spark skips
            files whose name starts with `_`: it never reads the check history's schema file
            (`_audit/checks/_empty.parquet`) and finds no schema where there is nothing else, so
            the check history needs one check file (a night's feed gates write theirs before its
            build). The quarantine's schema files (`_schema/empty.parquet`) are read. -#}
        {%- set path = var('lake_dir') ~ (
            '/_audit/{checks,model_runs}/*.parquet' if table_name == 'checks' else '/_quarantine/*/*/*/*.parquet'
        ) -%}
        {{- return(
            "(select *, " ~ lake_file_name() ~ " as filename from parquet.`" ~ (path | replace('`', '``'))
            ~ "`)"
        ) -}}
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

{% macro lake_file_name() -%}
    {#- Spark: the path of the file a row was read from, as DuckDB's `filename` gives it (but
        absolute, where DuckDB's is as the source names it: the models read its tail). Spark's
        hidden `_metadata.file_path` is a URI (`file:/lake/_audit/checks/x.parquet`), its path
        percent-encoded (a space is `%20`, a `%` is `%25`; a `+` stays): decoded (url_decode
        would read a `+` as a space, so it is encoded first), and a local file's scheme dropped
        (a lake on HDFS or object storage keeps its scheme). -#}
    regexp_replace(url_decode(replace(_metadata.file_path, '+', '%2B')), '^file:(//)?', '')
{%- endmacro %}



{#- Differences of dates and instants. DuckDB subtracts dates (`date - date`, a bigint of days)
    and counts the second boundaries between two instants (`date_diff('second', ...)`); Spark's
    `date - date` is an interval, and its `timestampdiff` counts whole seconds elapsed, not the
    boundaries crossed (0 between 10:00:00.9 and 10:00:01.1, where DuckDB says 1). -#}
{% macro days_between(start_date, end_date) -%}
    {#- The days from `start_date` to `end_date` (dates), as a bigint. -#}
    {{- return(adapter.dispatch('days_between', 'bankdw')(start_date, end_date)) -}}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    {{ end_date }} - {{ start_date }}
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    cast(datediff({{ end_date }}, {{ start_date }}) as bigint)
{%- endmacro %}

{% macro seconds_between(start_ts, end_ts) -%}
    {#- The second boundaries crossed from the instant `start_ts` to `end_ts`, as a bigint
        (DuckDB's date_diff('second', ...): each instant truncated to its second). -#}
    {{- return(adapter.dispatch('seconds_between', 'bankdw')(start_ts, end_ts)) -}}
{%- endmacro %}

{% macro default__seconds_between(start_ts, end_ts) -%}
    date_diff('second', {{ start_ts }}, {{ end_ts }})
{%- endmacro %}

{% macro spark__seconds_between(start_ts, end_ts) -%}
    unix_seconds({{ end_ts }}) - unix_seconds({{ start_ts }})
{%- endmacro %}

{#- Calendar arithmetic. DuckDB adds intervals to dates (`+ interval 1 month`, `- to_months(n)`,
    a timestamp), counts month boundaries with `datediff('month', ...)`, and has `isodow`,
    `dayname`, `strftime` and `generate_series`; Spark adds months with `add_months` (a date,
    the end of a month clamped as DuckDB does: 2024-03-31 less a month is 2024-02-29 on both),
    formats with `date_format` and generates days with `sequence`. -#}
{% macro months_after(date_expr, months) -%}
    {#- `date_expr` plus `months` months (a constant): compared with dates, or cast to one. -#}
    {{- return(adapter.dispatch('months_after', 'bankdw')(date_expr, months)) -}}
{%- endmacro %}

{% macro default__months_after(date_expr, months) -%}
    {{ date_expr }} + interval {{ months }} month
{%- endmacro %}

{% macro spark__months_after(date_expr, months) -%}
    add_months({{ date_expr }}, {{ months }})
{%- endmacro %}

{% macro months_before(date_expr, months) -%}
    {#- `date_expr` less `months` months (an integer expression): cast to a date by the caller. -#}
    {{- return(adapter.dispatch('months_before', 'bankdw')(date_expr, months)) -}}
{%- endmacro %}

{% macro default__months_before(date_expr, months) -%}
    {{ date_expr }} - to_months({{ months }})
{%- endmacro %}

{% macro spark__months_before(date_expr, months) -%}
    add_months({{ date_expr }}, -({{ months }}))
{%- endmacro %}

{% macro months_crossed(start_date, end_date) -%}
    {#- The month boundaries from `start_date` to `end_date` (2024-01-31 to 2024-02-01: 1), a bigint. -#}
    {{- return(adapter.dispatch('months_crossed', 'bankdw')(start_date, end_date)) -}}
{%- endmacro %}

{% macro default__months_crossed(start_date, end_date) -%}
    datediff('month', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__months_crossed(start_date, end_date) -%}
    cast((year({{ end_date }}) - year({{ start_date }})) * 12 + month({{ end_date }}) - month({{ start_date }}) as bigint)
{%- endmacro %}

{% macro days_from_to(start_date, end_date) -%}
    {#- A row for every day from `start_date` to `end_date` (dates), as a select-list item (a
        generator): none when `start_date` is after `end_date` or either is null. -#}
    {{- return(adapter.dispatch('days_from_to', 'bankdw')(start_date, end_date)) -}}
{%- endmacro %}

{% macro default__days_from_to(start_date, end_date) -%}
    {#- (indented as int_calendar_days said it before) -#}
    cast(
            unnest(generate_series({{ start_date }}, {{ end_date }}, interval 1 day)) as date
        )
{%- endmacro %}

{% macro spark__days_from_to(start_date, end_date) -%}
    {#- Spark's `sequence` fails where DuckDB's series is empty (start after end). -#}
    explode(
        if({{ start_date }} <= {{ end_date }}, sequence({{ start_date }}, {{ end_date }}, interval 1 day), array())
    )
{%- endmacro %}

{% macro iso_day_of_week(date_expr) -%}
    {#- 1 (Monday) to 7 (Sunday). -#}
    {{- return(adapter.dispatch('iso_day_of_week', 'bankdw')(date_expr)) -}}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    isodow({{ date_expr }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expr) -%}
    (weekday({{ date_expr }}) + 1)
{%- endmacro %}

{% macro day_name(date_expr) -%}
    {#- The day's English name (Monday). -#}
    {{- return(adapter.dispatch('day_name', 'bankdw')(date_expr)) -}}
{%- endmacro %}

{% macro default__day_name(date_expr) -%}
    dayname({{ date_expr }})
{%- endmacro %}

{% macro spark__day_name(date_expr) -%}
    date_format({{ date_expr }}, 'EEEE')
{%- endmacro %}

{% macro year_month_label(date_expr) -%}
    {#- The month as text, 2026-11. -#}
    {{- return(adapter.dispatch('year_month_label', 'bankdw')(date_expr)) -}}
{%- endmacro %}

{% macro default__year_month_label(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m')
{%- endmacro %}

{% macro spark__year_month_label(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM')
{%- endmacro %}


{% macro last_non_null(value) -%}
    {#- A window's last non-null value of `value` (its frame's). -#}
    {{- return(adapter.dispatch('last_non_null', 'bankdw')(value)) -}}
{%- endmacro %}

{% macro default__last_non_null(value) -%}
    last_value({{ value }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(value) -%}
    last_value({{ value }}, true)
{%- endmacro %}

{% macro row_of(fields) -%}
    {#- A row value of `fields` (comma-separated expressions), compared as a whole (`is distinct
        from`, `lag`): DuckDB's `row(...)`, Spark's `struct(...)` (fields named after the
        columns, so both sides of a comparison have the same type). Both compare null fields as
        equal. -#}
    {{- return(adapter.dispatch('row_of', 'bankdw')(fields)) -}}
{%- endmacro %}

{% macro default__row_of(fields) -%}
    row({{ fields }})
{%- endmacro %}

{% macro spark__row_of(fields) -%}
    struct({{ fields }})
{%- endmacro %}


{#- What the data tests (tests/, tests/generic/, the models' yml) need besides the above. -#}
{% macro unnest_columns(columns) -%}
    {#- Rows out of lists, in a select list: `columns` is a list of (name, [expressions]); the
        select gives a row per position, the i-th expression of every list side by side (an
        aggregate's select included: a row per group and position). DuckDB's `unnest([...]) as
        name` for each (several unnests in one select are zipped); Spark allows one generator in
        a select, so `inline(arrays_zip(array(...), ...)) as (names)`, or `explode(array(...))`
        for one list. -#}
    {{- return(adapter.dispatch('unnest_columns', 'bankdw')(columns)) -}}
{%- endmacro %}

{% macro default__unnest_columns(columns) -%}
    {%- for name, items in columns -%}
        unnest([{{ items | join(', ') }}]) as {{ name }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro spark__unnest_columns(columns) -%}
    {%- if columns | length == 1 -%}
        explode(array({{ columns[0][1] | join(', ') }})) as {{ columns[0][0] }}
    {%- else -%}
        inline(arrays_zip(
        {%- for name, items in columns -%}
            array({{ items | join(', ') }}){{ ', ' if not loop.last }}
        {%- endfor -%}
        )) as ({{ columns | map(attribute=0) | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{% macro json_string(json, path) -%}
    {#- The text of the string at `path` (`$.amount`) of the JSON text `json` (null where there is
        none): DuckDB's `json_extract_string`, Spark's `get_json_object`. For a string value both
        give its text as written; a JSON number Spark may reformat (it reads it as a double), so
        exact figures are kept as JSON strings (the loads' control totals are). -#}
    {{- return(adapter.dispatch('json_string', 'bankdw')(json, path)) -}}
{%- endmacro %}

{% macro default__json_string(json, path) -%}
    json_extract_string({{ json }}, {{ path }})
{%- endmacro %}

{% macro spark__json_string(json, path) -%}
    get_json_object({{ json }}, {{ path }})
{%- endmacro %}

{% macro regexp_full_match(value, pattern) -%}
    {#- Whether the whole of `value` matches the regular expression `pattern` (its text, not a
        literal: `\+[1-9][0-9]{6,14}`; what both engines' regexps share, RE2's and Java's):
        DuckDB's `regexp_full_match`; Spark's `regexp_like` (which finds a match anywhere) on the
        pattern anchored, its literal with the backslashes Spark's string literals unescape. -#}
    {{- return(adapter.dispatch('regexp_full_match', 'bankdw')(value, pattern)) -}}
{%- endmacro %}

{% macro default__regexp_full_match(value, pattern) -%}
    regexp_full_match({{ value }}, '{{ pattern | replace("'", "''") }}')
{%- endmacro %}

{% macro spark__regexp_full_match(value, pattern) -%}
    regexp_like({{ value }}, '^(?:{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }})$')
{%- endmacro %}


{#- Incremental models. DuckDB deletes and inserts rows in place; Spark's plain Parquet tables
    (file_format parquet) can neither delete nor update, and Spark refuses to overwrite a table
    in a statement that reads it. So on Spark a night's change is a rewrite of the whole table:
    its rows that stay and the new ones are written to a table beside it, which then overwrites
    it (insert overwrite). That costs a write of the table a night, not of the rows that changed:
    the price of Parquet without a table format; on Delta (Databricks) `delete` and `merge` do it
    in place. A table partitioned by date writes only the partitions a night touched
    (incremental_by_date, below): Spark accepts a dynamic partition overwrite that reads the
    table it writes (the new files go to a staging directory and replace the partitions when
    the write commits). -#}

{% macro rewrite_table(relation, rows) -%}
    {#- Spark: `relation` becomes the rows of the query `rows`, which may read it. Runs the
        writes and returns the last statement (dropping the table the rows were kept in), for the
        caller's statement or hook to run. -#}
    {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_rewrite'}) -%}
    {%- do run_query('drop table if exists ' ~ kept) -%}
    {%- do run_query('create table ' ~ kept ~ ' using ' ~ config.get('file_format', 'parquet') ~ ' as ' ~ rows) -%}
    {%- do run_query('insert overwrite table ' ~ relation ~ ' select * from ' ~ kept) -%}
    drop table {{ kept }}
{%- endmacro %}

{% macro delete_rows(relation, alias, condition) -%}
    {#- The statement that deletes the rows of `relation` (aliased `alias`) that `condition` holds
        for: a pre-hook of an incremental model, which then appends their new versions. -#}
    {{- return(adapter.dispatch('delete_rows', 'bankdw')(relation, alias, condition)) -}}
{%- endmacro %}

{% macro default__delete_rows(relation, alias, condition) -%}
    delete from {{ relation }} as {{ alias }}
    where {{ condition }}
{%- endmacro %}

{% macro spark__delete_rows(relation, alias, condition) -%}
    {#- The table rewritten without those rows: `except all` the rows the condition holds for
        rather than `where not (...)`, so that the rows kept are exactly those DuckDB's delete
        keeps (a row whose condition is null stays) whatever the condition holds, an `in
        (subquery)` included, with no three-valued logic to get right. -#}
    {%- set rows -%}
        select * from {{ relation }} as {{ alias }}
        except all
        select * from {{ relation }} as {{ alias }}
        where {{ condition }}
    {%- endset -%}
    {{- rewrite_table(relation, rows) -}}
{%- endmacro %}

{#- A Python model on Spark (bankdw/spark_python.py): dbt-spark ends its script with a tail that
    only Databricks runs; the project's ends it with `materialize`, which runs the model on DuckDB
    over the Spark build's tables in dbt's own process (the submission method `bankdw_session`,
    dbt_project.yml) and writes its rows as `relation`. SQL is dbt-spark's. -#}
{% macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- if language != 'python' -%}
        {{- return(dbt.spark__create_table_as(temporary, relation, compiled_code, language)) -}}
    {%- endif %}
{{ compiled_code }}

# --- bankdw: the model run on DuckDB over the Spark build's tables (macros/engines.sql) --- #
from bankdw.spark_python import materialize
materialize(model, dbtObj, "{{ relation }}", "{{ config.get('file_format', 'parquet') }}")
{%- endmacro %}

{#- dbt-spark's incremental materialization knows its own strategies only (append, merge,
    insert_overwrite, microbatch) and refuses any other before it runs anything; dbt-core's
    finds a strategy's SQL by its name, `get_incremental_<strategy>_sql`, as DuckDB's does. These
    two of dbt-spark's macros (a root project's macros come first in dbt's namespace) let the
    project's own strategies (replace_customer_tail) through to their macro, whose `spark__` form
    is Spark's, and leave dbt-spark's strategies to dbt-spark. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy not in ('append', 'merge', 'insert_overwrite', 'microbatch')
        and ('get_incremental_' ~ raw_strategy ~ '_sql') in context -%}
        {{- return(raw_strategy) -}}
    {%- endif -%}
    {{- return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) -}}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy not in ('append', 'merge', 'insert_overwrite', 'microbatch') -%}
        {%- set strategy_sql = adapter.get_incremental_strategy_macro(context, strategy) -%}
        {{- strategy_sql({
            'target_relation': target,
            'temp_relation': source,
            'unique_key': unique_key,
            'dest_columns': adapter.get_columns_in_relation(target),
            'incremental_predicates': incremental_predicates,
        }) -}}
    {%- else -%}
        {{- dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -}}
    {%- endif -%}
{%- endmacro %}

{#- A table model that reads its own previous state (the customer history's ledgers: what is
    news to the warehouse). dbt-spark's table materialization drops a Parquet table before it
    builds it again, so on Spark such a model is incremental and rewrites the whole table with
    its new rows (strategy rewrite); on DuckDB it stays the table it was. Its config: -#}
{% macro self_reading_table() -%}
    {{- return(adapter.dispatch('self_reading_table', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__self_reading_table() -%}
    {{- return({}) -}}
{%- endmacro %}

{% macro spark__self_reading_table() -%}
    {{- return({'materialized': 'incremental', 'incremental_strategy': 'rewrite'}) -}}
{%- endmacro %}

{% macro get_incremental_rewrite_sql(arg_dict) -%}
    {#- The table becomes the model's rows (Spark: rewrite_table). -#}
    {{- rewrite_table(arg_dict['target_relation'], 'select * from ' ~ arg_dict['temp_relation']) -}}
{%- endmacro %}

{#- An incremental table of days (the balance facts): a night replaces the dates it touched.
    DuckDB deletes those dates' rows and inserts the night's (delete+insert on the date). On
    Spark the table is partitioned by the date and a night overwrites the partitions of the
    dates its rows hold (insert_overwrite, dynamic partition overwrite): what a night writes is
    its own dates, whatever the table holds. The table says so itself (its option
    partitionOverwriteMode), so that no insert overwrite of it can replace partitions a
    statement does not write, whatever the session's setting. Spark lists a partition column
    after the others (`select *` gives the date last); the rows are DuckDB's. Its config: -#}
{% macro incremental_by_date(date_column) -%}
    {{- return(adapter.dispatch('incremental_by_date', 'bankdw')(date_column)) -}}
{%- endmacro %}

{% macro default__incremental_by_date(date_column) -%}
    {{- return({'incremental_strategy': 'delete+insert', 'unique_key': date_column}) -}}
{%- endmacro %}

{% macro spark__incremental_by_date(date_column) -%}
    {{- return({
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [date_column],
        'options': {'partitionOverwriteMode': 'dynamic'},
    }) -}}
{%- endmacro %}


{#- An incremental table of a key (an account) by day or month, rebuilt from a restart date on
    (strategy replace_tail, macros/incremental.sql: the profitability chain). DuckDB deletes the
    rows from the night's restart on, and a rebuilt key's from its own earlier date, and inserts
    the batch. On Spark the table is partitioned by its date and a night overwrites the partitions
    from the earliest date it rebuilds on (the restart, or a rebuilt key's date), every row of
    them that stays with the batch's (dynamic partition overwrite); a partition left with no row
    (a date a re-delivery withdrew) is dropped. A night that rebuilds from its newest date writes
    that date's partition (or month's), not the table; one that rebuilds a key whole (its legs or
    its customer changed) writes every partition, as DuckDB deletes every row of that key. Spark
    lists the partition column after the others; the rows are DuckDB's. Its config: -#}
{% macro incremental_by_tail(key_column, date_column) -%}
    {{- return(adapter.dispatch('incremental_by_tail', 'bankdw')(key_column, date_column)) -}}
{%- endmacro %}

{% macro default__incremental_by_tail(key_column, date_column) -%}
    {{- return({'incremental_strategy': 'replace_tail', 'tail_key': key_column, 'tail_date_column': date_column}) -}}
{%- endmacro %}

{% macro spark__incremental_by_tail(key_column, date_column) -%}
    {{- return({
        'incremental_strategy': 'replace_tail',
        'tail_key': key_column,
        'tail_date_column': date_column,
        'partition_by': [date_column],
        'options': {'partitionOverwriteMode': 'dynamic'},
    }) -}}
{%- endmacro %}

{% macro spark__get_incremental_replace_tail_sql(arg_dict) -%}
    {#- Spark (incremental_by_tail): the batch (the model's rows, markers included: see
        default__get_incremental_replace_tail_sql) is written once to a table beside the target
        (the model's query reads the target, which the overwrite changes), then the partitions
        from the earliest date the night rebuilds are overwritten with the target's rows that
        DuckDB's deletes keep and the batch's rows; those left empty are dropped. Runs the writes
        and returns the last statement (dropping the batch's table). -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set key = config.get('tail_key') -%}
    {%- set day = config.get('tail_date_column') -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | join(', ') -%}
    {%- set batch = batch_table(target, arg_dict['temp_relation']) -%}
    {#- the CTEs the model's query computed once, which nothing reads from here -#}
    {%- do drop_computed_once() -%}
    {%- set night -%}
        restart as (

            -- the night's restart: none (a far-future date) when the batch is empty
            select coalesce(max(batch_row.rebuilt_from), date '9999-12-31') as restart_date
            from {{ batch }} as batch_row

        ),

        rebuilt_keys as (

            select
                batch_row.{{ key }},
                min(batch_row.rebuilt_from) as rebuilt_from
            from {{ batch }} as batch_row
            where batch_row.{{ key }} is not null
            group by batch_row.{{ key }}
            having min(batch_row.rebuilt_from) < (select restart.restart_date from restart)

        ),

        -- the earliest date the night writes: every partition from it on is overwritten
        written_from as (

            select least(
                (select restart.restart_date from restart),
                coalesce((select min(rebuilt_keys.rebuilt_from) from rebuilt_keys), date '9999-12-31'),
                coalesce((select min(batch_row.{{ day }}) from {{ batch }} as batch_row), date '9999-12-31')
            ) as from_date

        ),

        written as (

            select {{ columns }}
            from {{ batch }} as batch_row
            where batch_row.{{ day }} is not null
            union all
            select {{ columns }}
            from (
                select kept_row.*
                from {{ target }} as kept_row
                left anti join rebuilt_keys
                    on
                        kept_row.{{ key }} = rebuilt_keys.{{ key }}
                        and kept_row.{{ day }} >= rebuilt_keys.rebuilt_from
                where
                    kept_row.{{ day }} < (select restart.restart_date from restart)
                    and kept_row.{{ day }} >= (select written_from.from_date from written_from)
            ) as kept_row

        )
    {%- endset -%}
    {%- set emptied = run_query(
        'with ' ~ night ~ ' select distinct cast(emptied.' ~ day ~ ' as string) from ' ~ target ~ ' as emptied'
        ~ ' left anti join written on emptied.' ~ day ~ ' = written.' ~ day
        ~ ' where emptied.' ~ day ~ ' >= (select written_from.from_date from written_from)'
    ).columns[0].values() -%}
    {%- do run_query(
        'insert overwrite table ' ~ target ~ ' ' ~ partition_cols(label='partition')
        ~ ' with ' ~ night ~ ' select ' ~ columns ~ ' from written'
    ) -%}
    {%- if emptied | length > 0 -%}
        {%- set dropped -%}
            alter table {{ target }} drop if exists
            {%- for emptied_day in emptied | sort %}
                partition ({{ day }} = '{{ emptied_day }}'){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do run_query(dropped) -%}
    {%- endif -%}
    {%- do run_query('refresh table ' ~ target) -%}
    drop table {{ batch }}
{%- endmacro %}

{#- An incremental table of keys (a web session) that carry a date, rebuilt key by key: a night
    replaces the rows of the keys its batch holds, wherever their dates lie (a late event joins a
    session of an earlier day). DuckDB deletes those keys' rows and inserts the batch
    (delete+insert on the key). Spark's Parquet tables cannot delete: the table is partitioned by
    the date, and a night overwrites the partitions that hold a replaced row or a new one, with
    every row they keep and the batch's (strategy replace_keys_by_partition,
    replace_rows_by_partition): a night writes the dates its keys touch (for sessions, the newest
    and the days late events reached), not the table, as the facts by date do; rewriting the
    whole table (strategy rewrite) would cost a write of every session a night. A key whose date
    changes (a late event earlier than the session's first) leaves its old partition, which is
    overwritten too, or dropped when nothing is left in it. Spark lists the partition column
    after the others; the rows are DuckDB's. Its config: -#}
{% macro incremental_by_key(key_column, date_column) -%}
    {{- return(adapter.dispatch('incremental_by_key', 'bankdw')(key_column, date_column)) -}}
{%- endmacro %}

{% macro default__incremental_by_key(key_column, date_column) -%}
    {{- return({'incremental_strategy': 'delete+insert', 'unique_key': key_column}) -}}
{%- endmacro %}

{% macro spark__incremental_by_key(key_column, date_column) -%}
    {{- return({
        'incremental_strategy': 'replace_keys_by_partition',
        'unique_key': key_column,
        'partition_by': [date_column],
        'options': {'partitionOverwriteMode': 'dynamic'},
    }) -}}
{%- endmacro %}

{% macro get_incremental_replace_keys_by_partition_sql(arg_dict) -%}
    {#- Spark (incremental_by_key): the batch's rows replace the target's rows of the same keys.
        The batch (the model's query, a temporary view) is written once to a table beside the
        target (batch_table): the statements below read it nine times, each read of the view
        running the model's query again. -#}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set batch = batch_table(arg_dict['target_relation'], arg_dict['temp_relation']) -%}
    {%- set last = replace_rows_by_partition(
        arg_dict['target_relation'], key, 'select ' ~ key ~ ' from ' ~ batch, 'select * from ' ~ batch
    ) -%}
    {%- do run_query('drop table ' ~ batch) -%}
    {{- last -}}
{%- endmacro %}

{% macro batch_table(target, temp_relation) -%}
    {#- Spark: writes the night's batch, the model's query that dbt-spark's incremental
        materialization holds as a temporary view (`temp_relation`), to a table beside `target`
        (`<target>__dbt_batch`) and returns that table. A view is its query, run again at each
        read: a strategy that reads its batch more than once reads this table instead, and drops
        it once its writes are done. -#}
    {%- set batch = target.incorporate(path={'identifier': target.identifier ~ '__dbt_batch'}) -%}
    {%- do run_query('drop table if exists ' ~ batch) -%}
    {%- do run_query(
        'create table ' ~ batch ~ ' using ' ~ config.get('file_format', 'parquet') ~ ' as select * from ' ~ temp_relation
    ) -%}
    {{- return(batch) -}}
{%- endmacro %}

{% macro replace_rows_by_partition(relation, key, replaced_keys, new_rows=none) -%}
    {#- Spark: in `relation`, partitioned by its config's `partition_by` (dynamic partition
        overwrite), the rows whose `key` the query `replaced_keys` (one column, named `key`)
        returns are replaced by the rows of the query `new_rows` (none: deleted), as DuckDB's
        delete of those keys and insert. The partitions that hold a replaced row or a new one are
        overwritten, every row of them that stays with the new ones; one that keeps no row is
        dropped (an overwrite leaves a partition it writes no row to as it was). Which partitions
        are found before anything is written (the queries may read `relation`). Runs the
        overwrite and returns the last statement, for the caller's statement or hook to run. -#}
    {%- set partition_by = config.get('partition_by') -%}
    {%- set partitions = [partition_by] if partition_by is string else partition_by -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | join(', ') -%}
    {%- set added = '(' ~ new_rows ~ ')' if new_rows is not none else '(select * from ' ~ relation ~ ' where false)' -%}
    {%- set replaced_partitions -%}
        select distinct {{ partitions | join(', ') }}
        from {{ relation }} as replaced_row
        left semi join ({{ replaced_keys }}) as replaced on replaced_row.{{ key }} = replaced.{{ key }}
    {%- endset -%}
    {%- set rows -%}
        select {{ columns }} from {{ added }} as new_row
        union all
        select {{ columns }}
        from {{ relation }} as kept_row
        left anti join ({{ replaced_keys }}) as replaced on kept_row.{{ key }} = replaced.{{ key }}
        left semi join (
            {{ replaced_partitions }}
            union
            select distinct {{ partitions | join(', ') }} from {{ added }} as new_partition
        ) as touched
            on
            {%- for column in partitions %}
                {{ 'and ' if not loop.first }}kept_row.{{ column }} <=> touched.{{ column }}
            {%- endfor %}
    {%- endset -%}
    {%- set emptied_query -%}
        select
        {%- for column in partitions %}
            cast(emptied.{{ column }} as string) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        from ({{ replaced_partitions }}) as emptied
        left anti join ({{ rows }}) as written
            on
            {%- for column in partitions %}
                {{ 'and ' if not loop.first }}emptied.{{ column }} <=> written.{{ column }}
            {%- endfor %}
    {%- endset -%}
    {%- set emptied = run_query(emptied_query).rows -%}
    {%- do run_query('insert overwrite table ' ~ relation ~ ' ' ~ partition_cols(label='partition') ~ ' ' ~ rows) -%}
    {%- if emptied | length > 0 -%}
        alter table {{ relation }} drop if exists
        {%- for row in emptied %}
            partition (
            {%- for column in partitions -%}
                {{ ', ' if not loop.first }}{{ column }} = '{{ row[loop.index0] }}'
            {%- endfor -%}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    {%- else -%}
        refresh table {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- CTEs computed once. DuckDB materialises a CTE that a query references more than once; Spark 4
    inlines every deterministic CTE at each of its references (its optimizer rule InlineCTE; no
    setting turns that off and its SQL has no `materialized` CTE yet), so a night's `restart` and
    `rebuilt_accounts`, referenced four to ten times and built from the table itself and every
    input, were computed again at each reference, nested: the query of
    int_account_profitability_monthly's second night on the test bank planned 2,477 table scans.
    A model wraps the CTEs of its `with` up to the last of those:
        with {% call computed_once(['restart', 'rebuilt_accounts']) -%}
        accounts as (
        ...
        {% endif %}
        {%- endcall %}
    (sqlfluff's templater then warns that it places the file a character off, and lints it; with
    the first CTE's name right after the tag it places it right and then finds the layout of the
    rest of the model wrong). On DuckDB the CTEs render as they are written. On Spark, on
    an incremental run, each CTE named is computed once, in the order given, into a table beside
    the model's (`<model>__once_<cte>`, as the strategy's batch), and its body becomes a read of
    that table, so later CTEs and the model's query read its rows (127 scans). A table, not a
    cached view: Spark finds a cached query by its plan, and a plan with CTEs never matches again
    (each analysis numbers its CTEs anew): the night planned as many scans with the views cached
    as without. A CTE is found by the layout the style gives it (a line `<name> as (`, its body,
    and the line `)` at the same indent where its parentheses close, comments aside); not found,
    the build stops. The tables are written when a `dbt run` or `dbt build` renders the model's
    SQL, before its pre-hooks: a model whose pre-hooks change what those CTEs read must not use
    this (it stops the build). Any other command that renders it (`dbt compile`, `dbt show`, `dbt
    docs generate`) gets the CTEs as written and writes nothing: nothing would drop the tables.
    The strategy drops them once the night's batch is written (drop_computed_once). -#}
{% macro computed_once(names) -%}
    {{- adapter.dispatch('computed_once', 'bankdw')(names, caller()) -}}
{%- endmacro %}

{% macro default__computed_once(names, ctes) -%}
    {{- ctes -}}
{%- endmacro %}

{% macro spark__computed_once(names, ctes) -%}
    {%- if not (execute and is_incremental() and flags.WHICH in ('run', 'build')) -%}
        {{- ctes -}}
    {%- else -%}
        {%- if config.get('pre_hook') -%}
            {%- do exceptions.raise_compiler_error(
                "computed_once: " ~ this.identifier ~ " has pre-hooks, which run after its CTEs are computed"
            ) -%}
        {%- endif -%}
        {%- set state = namespace(lines=ctes.split('\n')) -%}
        {%- for name in names -%}
            {#- its first line, and its last: where its parentheses close (comments aside) -#}
            {%- set found = namespace(start=none, stop=none, indent='', depth=0) -%}
            {%- for line in state.lines -%}
                {%- if found.start is none and line.strip() == name ~ ' as (' -%}
                    {%- set found.start = loop.index0 -%}
                    {%- set found.indent = line[:line.index(name)] -%}
                {%- endif -%}
                {%- if found.start is not none and found.stop is none -%}
                    {%- set code = line.split('--')[0] -%}
                    {%- set found.depth = found.depth + code.count('(') - code.count(')') -%}
                    {%- if found.depth == 0 -%}
                        {%- set found.stop = loop.index0 -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if found.stop is none or state.lines[found.stop].rstrip().rstrip(',') != found.indent ~ ')' -%}
                {%- do exceptions.raise_compiler_error(
                    "computed_once: no CTE " ~ name ~ " laid out as `" ~ name ~ " as (` ... `)` in " ~ this.identifier
                ) -%}
            {%- endif -%}
            {%- set once = this.incorporate(path={'identifier': this.identifier ~ '__once_' ~ name}) -%}
            {%- do run_query('drop table if exists ' ~ once) -%}
            {%- do run_query(
                'create table ' ~ once ~ ' using ' ~ config.get('file_format', 'parquet') ~ ' as with '
                ~ (state.lines | join('\n')).rstrip().rstrip(',') ~ '\nselect * from ' ~ name
            ) -%}
            {%- set state.lines = state.lines[:found.start + 1]
                + ['', found.indent ~ '    select * from ' ~ once, '']
                + state.lines[found.stop:] -%}
        {%- endfor -%}
        {{- state.lines | join('\n') -}}
    {%- endif -%}
{%- endmacro %}

{% macro drop_computed_once() -%}
    {#- Spark: drops this model's tables of computed_once (none: nothing). -#}
    {%- for row in run_query("show tables in " ~ this.schema ~ " like '" ~ this.identifier ~ "__once_*'") -%}
        {%- if not row['isTemporary'] -%}
            {%- do run_query('drop table if exists ' ~ this.incorporate(path={'identifier': row['tableName']})) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro iso_date_text(date_expr) -%}
    {#- The date as text, 2026-11-20 (a year of four digits). -#}
    {{- return(adapter.dispatch('iso_date_text', 'bankdw')(date_expr)) -}}
{%- endmacro %}

{% macro default__iso_date_text(date_expr) -%}
    strftime({{ date_expr }}, '%Y-%m-%d')
{%- endmacro %}

{% macro spark__iso_date_text(date_expr) -%}
    date_format({{ date_expr }}, 'yyyy-MM-dd')
{%- endmacro %}

{% macro spark_session_setting(name, value) -%}
    {#- A hook that sets one of Spark's SQL settings for the session, a model's pre-hook (and its
        post-hook setting it back); nothing on DuckDB. -#}
    {{- return(adapter.dispatch('spark_session_setting', 'bankdw')(name, value)) -}}
{%- endmacro %}

{% macro default__spark_session_setting(name, value) -%}
{%- endmacro %}

{% macro spark__spark_session_setting(name, value) -%}
    set {{ name }} = {{ value }}
{%- endmacro %}
