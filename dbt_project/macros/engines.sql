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
    {%- elif source_name == 'identity' -%}
        {%- set path = var('identity_dir') ~ '/' ~ table_name ~ '.parquet' -%}
    {%- elif source_name == 'lake_audit' and table_name == 'loads' -%}
        {#- the load audit, which the incremental models read (macros/incremental.sql,
            newer_delivered_from): one file per load and the zero-row schema file -#}
        {%- set path = var('lake_dir') ~ '/_audit/loads/*.parquet' -%}
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



{#- Ordered aggregates. DuckDB orders inside the aggregate (`first(x order by ...)`,
    `string_agg(x, ',' order by ...)`); Spark has neither form. -#}

{% macro ordered_first(value, order_by, where=none) -%}
    {#- The value of the group's first row in the order `order_by` (a list of `<expression>
        [asc|desc]`, nulls last as DuckDB sorts them), null values included; with `where`, of
        the rows that satisfy it. -#}
    {{- return(adapter.dispatch('ordered_first', 'bankdw')(value, order_by, where)) -}}
{%- endmacro %}

{% macro default__ordered_first(value, order_by, where) -%}
    first({{ value }} order by {{ order_by | join(', ') }})
    {%- if where is not none %}
        filter (where {{ where }})
    {%- endif %}
{%- endmacro %}

{% macro spark__ordered_first(value, order_by, where) -%}
    {#- Ascending keys only: min_by over a struct of the keys, each after a flag that sorts its
        nulls last, as DuckDB does (Spark sorts a struct's null fields first). A descending key
        (a timestamp, a string) cannot be turned around inside a struct: then the group's rows
        are collected as structs and sorted by a comparator that says DuckDB's order (each key's
        direction, nulls last in both), and the first one's value is taken (try_element_at: a
        group that no row passes `where` gives null, as on DuckDB). Slower: only where needed. -#}
    {%- set keys = [] -%}
    {%- for term in order_by -%}
        {%- set words = term.strip().split(' ') -%}
        {%- set descending = words[-1] | lower == 'desc' -%}
        {%- set expression = (words[:-1] | join(' ')) if (words[-1] | lower) in ('asc', 'desc') else term.strip() -%}
        {%- do keys.append({'expression': expression, 'sign': -1 if descending else 1}) -%}
    {%- endfor -%}
    {%- if keys | selectattr('sign', 'lt', 0) | list | length == 0 -%}
    min_by({{ value }}, struct(
        {%- for key in keys %}{{ ', ' if not loop.first }}{{ key.expression }} is null, {{ key.expression }}{% endfor -%}
    ))
        {%- if where is not none %} filter (where {{ where }}){% endif %}
    {%- else -%}
    try_element_at(array_sort(
        collect_list(struct(
            {{ value }} as value
            {%- for key in keys %}, {{ key.expression }} as key_{{ loop.index }}{% endfor -%}
        ))
        {%- if where is not none %} filter (where {{ where }}){% endif %},
        (left_row, right_row) -> case
        {%- for key in keys %}
            {%- set left, right = 'left_row.key_' ~ loop.index, 'right_row.key_' ~ loop.index %}
            when {{ left }} is null and {{ right }} is not null then 1
            when {{ left }} is not null and {{ right }} is null then -1
            when {{ left }} < {{ right }} then {{ -1 * key.sign }}
            when {{ left }} > {{ right }} then {{ key.sign }}
        {%- endfor %}
            else 0
        end
    ), 1).value
    {%- endif -%}
{%- endmacro %}

{% macro ordered_string_agg(value, separator, order_by) -%}
    {#- The group's non-null values joined by `separator` in the order `order_by` (one expression,
        ascending, never null). -#}
    {{- return(adapter.dispatch('ordered_string_agg', 'bankdw')(value, separator, order_by)) -}}
{%- endmacro %}

{% macro default__ordered_string_agg(value, separator, order_by) -%}
    string_agg({{ value }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(value, separator, order_by) -%}
    string_agg({{ value }}, {{ separator }}) within group (order by {{ order_by }})
{%- endmacro %}

{% macro arg_max(value, by) -%}
    {#- The value of the row with the largest `by` (rows with a null `by` ignored). -#}
    {{- return(adapter.dispatch('arg_max', 'bankdw')(value, by)) -}}
{%- endmacro %}

{% macro default__arg_max(value, by) -%}
    arg_max({{ value }}, {{ by }})
{%- endmacro %}

{% macro spark__arg_max(value, by) -%}
    max_by({{ value }}, {{ by }})
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
    {#- Spark (incremental_by_key): the batch's rows replace the target's rows of the same keys. -#}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {{- replace_rows_by_partition(
        arg_dict['target_relation'], key, 'select ' ~ key ~ ' from ' ~ batch, 'select * from ' ~ batch
    ) -}}
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
