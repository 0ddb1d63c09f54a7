{#
    Incremental facts (see README.md, "Incremental facts").

    Every incremental fact keeps the `load_id` of the lake load its rows came from. A nightly
    run rebuilds a fact from the earliest date that any newer load touched: normally only the
    new business date, but everything from an older date on when that date was re-delivered
    or late data arrived for it. Rows are replaced per date (delete+insert on the date), so a
    corrected delivery replaces what its date loaded before. The cost of a night therefore
    depends on what arrived, not on how much history the warehouse already holds.
#}

{% macro reprocess_from(relation, date_column, watermark_column='load_id', load_column='_load_id', system=none) -%}
    {#- The earliest `date_column` among the rows of `relation` that loads newer than this
        table's latest `watermark_column` (a load id) brought, by the relation's `load_column`
        (the lake's `_load_id`, or the watermark of an incremental table upstream); with
        `system` (the source system whose feeds `relation` reads), also the earliest business
        date that those newer loads delivered or re-delivered for that system, whether or not
        they brought rows (newer_delivered_from). A far-future date when nothing is new. -#}
    {%- set newer_rows -%}
    (
        select coalesce(min(newer.{{ date_column }}), date '9999-12-31')
        from {{ relation }} as newer
        where newer.{{ load_column }} > {{ table_watermark(watermark_column) }}
    )
    {%- endset -%}
    {%- if system is none -%}
        {%- set restart = newer_rows -%}
    {%- else -%}
        {%- set restart -%}
        least(
            {{ newer_rows }},
            {{ newer_delivered_from(system, table_watermark(watermark_column)) }}
        )
        {%- endset -%}
    {%- endif -%}
    {{- date_constant_on_duckdb(restart) -}}
{%- endmacro %}


{% macro date_constant_on_duckdb(expression) -%}
    {#- `expression` (a scalar subquery, or an expression of some, giving a date) as the date it gives, asked
        before the model's query runs, when a model is built on DuckDB: DuckDB skips a Parquet
        file's row groups by their statistics for a filter on a constant or on one scalar
        subquery, not on an expression of two (`least(...)`). A night's incremental facts read
        from their restart on: with the restart as an expression they read every row of the
        history (int_web_events_deduplicated, fct_account_balance_daily: each about 2 s a night
        more at a year of 10,000 customers than at a month, docs/performance.md). Asked before
        the model's pre-hooks: a pre-hook that deletes withdrawn rows deletes rows of loads a
        newer one superseded, which leaves the restart where it was (delete_withdrawn_rows).
        The expression itself wherever the model is not being built (model_is_being_built: a
        unit test, whose inputs exist only inside the model's query, the docs, a compile), and
        on Spark. -#}
    {{- return(adapter.dispatch('date_constant_on_duckdb', 'bankdw')(expression)) -}}
{%- endmacro %}

{% macro default__date_constant_on_duckdb(expression) -%}
    {%- if model_is_being_built() -%}
        {#- (the night tests' date asked once: macros/night_tests.sql) -#}
        {{- queried_date('select cast(' ~ expression ~ ' as ' ~ string_type() ~ ')') -}}
    {%- else -%}
        {{- expression -}}
    {%- endif -%}
{%- endmacro %}

{% macro spark__date_constant_on_duckdb(expression) -%}
    {{- expression -}}
{%- endmacro %}

{% macro model_is_being_built() -%}
    {#- Whether the model is rendered to be built now (`dbt run` or `dbt build`), when a query
        asked of the warehouse before its own may name the tables it reads. Not when dbt parses,
        nor in a unit test or a test, nor when `dbt docs generate` or `dbt compile` renders it:
        the publish step's docs are generated against the published warehouse, which holds the
        marts an incremental model reads from but not the intermediate tables. -#}
    {{- return(execute and model.resource_type == 'model' and flags.WHICH in ('run', 'build')) -}}
{%- endmacro %}


{% macro table_watermark(watermark_column='load_id') -%}
    {#- This table's latest load id ('' when empty). -#}
    (select coalesce(max(loaded.{{ watermark_column }}), '') from {{ this }} as loaded)
{%- endmacro %}


{% macro newer_delivered_from(system, watermark) -%}
    {#- The earliest business date that a load newer than `watermark` (a load id, or an
        expression giving one) delivered for `system`, from the lake's load audit; 9999-12-31
        when none. A loaded delivery replaces every feed of its system for its date
        (extract/load.py: a file it lacks, or an empty one, leaves an empty partition), so a
        date re-delivered with no rows of a feed is found here although no row carries the
        load: the audit has a row for every landed file of the delivery. -#}
    (
        select coalesce(min(delivered.business_date), date '9999-12-31')
        from {{ source('lake_audit', 'loads') }} as delivered
        where
            delivered.outcome = 'LOADED'
            and delivered.system = '{{ system }}'
            and delivered.load_id > {{ watermark }}
    )
{%- endmacro %}


{% macro newer_load_id(system, watermark_column='as_of_load_id') -%}
    {#- The latest load newer than this table's watermark (`watermark_column`; every load on a
        full refresh) that delivered anything for `system` (null when none): an incremental
        table's watermark takes it, so that a night whose only news is a re-delivery without
        rows does not leave that load newer than the table for ever. -#}
    (
        select max(delivered.load_id)
        from {{ source('lake_audit', 'loads') }} as delivered
        where
            delivered.outcome = 'LOADED'
            and delivered.system = '{{ system }}'
            and delivered.load_id > {{ table_watermark(watermark_column) if is_incremental() else "''" }}
    )
{%- endmacro %}


{% macro delete_withdrawn_rows(system, relation, date_column, relation_date_column, key_column=none, relation_key_column=none, grain=none) -%}
    {#- Pre-hook of an incremental table whose strategy replaces what its batch holds (dates by
        delete+insert or incremental_by_date, sessions by session_id): deletes its rows that a
        corrected delivery withdrew, which no batch replaces since no row of them is left.
        Those are the rows from the earliest date that a load newer than the table's watermark
        delivered for `system` (newer_delivered_from) on, by `date_column`, whose date (or, with
        `key_column`, whose key) `relation`, what the table is built from, no longer holds
        (by `relation_date_column`, or `relation_key_column`). `grain` ('month') when the
        table's dates are months. The rows deleted were built from loads the re-delivery
        superseded, so the restart the model computes afterwards is the same. -#}
    {{- return(adapter.dispatch('delete_withdrawn_rows', 'bankdw')(
        system, relation, date_column, relation_date_column, key_column, relation_key_column, grain
    )) -}}
{%- endmacro %}

{% macro withdrawn_rows_condition(system, relation, date_column, relation_date_column, key_column, relation_key_column, grain) -%}
    {%- set restart = newer_delivered_from(system, table_watermark()) -%}
    {%- if grain -%}
        {%- set restart = "cast(date_trunc('" ~ grain ~ "', " ~ restart ~ ") as date)" -%}
        {%- set lake_date = "cast(date_trunc('" ~ grain ~ "', lake." ~ relation_date_column ~ ") as date)" -%}
    {%- else -%}
        {%- set lake_date = "lake." ~ relation_date_column -%}
    {%- endif -%}
    {{ date_column }} >= {{ restart }}
    {%- if key_column %}
        and {{ key_column }} not in (select distinct lake.{{ relation_key_column }} from {{ relation }} as lake)
    {%- else %}
        and {{ date_column }} not in (
            select distinct {{ lake_date }}
            from {{ relation }} as lake
            where {{ lake_date }} >= {{ restart }}
        )
    {%- endif %}
{%- endmacro %}

{% macro default__delete_withdrawn_rows(system, relation, date_column, relation_date_column, key_column, relation_key_column, grain) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ withdrawn_rows_condition(system, relation, date_column, relation_date_column, key_column, relation_key_column, grain) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_withdrawn_rows(system, relation, date_column, relation_date_column, key_column, relation_key_column, grain) -%}
    {#- Spark: a table partitioned by the date (incremental_by_date, macros/engines.sql) drops
        those dates' partitions; one of keys partitioned by another date (the sessions:
        incremental_by_key) has the partitions that hold the keys' rows overwritten without them
        (replace_rows_by_partition); any other is rewritten without the rows (delete_rows). A
        night that finds none writes nothing. -#}
    {%- if is_incremental() -%}
        {%- set condition = withdrawn_rows_condition(
            system, relation, date_column, relation_date_column, key_column, relation_key_column, grain
        ) -%}
        {%- set by_partition = key_column is none and config.get('partition_by') in (date_column, [date_column]) -%}
        {%- set found = run_query(
            'select distinct cast(' ~ date_column ~ ' as string) from ' ~ this ~ ' where ' ~ condition
        ).columns[0].values() -%}
        {%- if found | length > 0 and by_partition -%}
            alter table {{ this }} drop if exists
            {%- for day in found | sort %}
                partition ({{ date_column }} = '{{ day }}'){{ ',' if not loop.last }}
            {%- endfor %}
        {%- elif found | length > 0 and key_column and config.get('partition_by') -%}
            {{- replace_rows_by_partition(
                this, key_column, 'select ' ~ key_column ~ ' from ' ~ this ~ ' where ' ~ condition
            ) -}}
        {%- elif found | length > 0 -%}
            {{- delete_rows(this, 'withdrawn', condition) -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro refresh_customer_keys(mapping, fact_key, mapping_key, extra_columns=[], xref_source=none) -%}
    {#- Post-hook of an incremental fact: rows loaded on earlier nights keep the customer they
        were built with, so when identity resolution re-keys a record (two customers found to
        be one), the changed rows, and only those, are updated to the current key.
        `xref_source` = [source_system, source_table] when `mapping` is the customer xref.
        Hooks are given as strings ("{{ refresh_customer_keys(...) }}") so that they render
        when the model runs, not when dbt parses the project (is_incremental() is false then). -#}
    {{- return(adapter.dispatch('refresh_customer_keys', 'bankdw')(mapping, fact_key, mapping_key, extra_columns, xref_source)) -}}
{%- endmacro %}

{% macro default__refresh_customer_keys(mapping, fact_key, mapping_key, extra_columns, xref_source) -%}
    {%- if is_incremental() -%}
        update {{ this }} as fact
        set
            customer_key = current_keys.customer_key
            {%- for column in extra_columns %},
            {{ column }} = current_keys.{{ column }}
            {%- endfor %}
        from (
            select * from {{ mapping }}
            {%- if xref_source %}
                where source_system = '{{ xref_source[0] }}' and source_table = '{{ xref_source[1] }}'
            {%- endif %}
        ) as current_keys
        where
            fact.{{ fact_key }} = current_keys.{{ mapping_key }}
            and (
                fact.customer_key is distinct from current_keys.customer_key
                {%- for column in extra_columns %}
                or fact.{{ column }} is distinct from current_keys.{{ column }}
                {%- endfor %}
            )
    {%- endif -%}
{%- endmacro %}


{% macro spark__refresh_customer_keys(mapping, fact_key, mapping_key, extra_columns, xref_source) -%}
    {#- Spark's Parquet tables have no update. A table partitioned by date (incremental_by_date,
        macros/engines.sql) has the partitions that hold a row to re-key written again, every
        row of them with its current key (dynamic partition overwrite: the other partitions stay
        as they are); a table not partitioned is rewritten whole (rewrite_table). A row whose
        `fact_key` the mapping does not hold keeps its key, as DuckDB's update leaves it: the
        same rows as DuckDB's. A night that re-keys nothing writes nothing. -#}
    {%- if is_incremental() -%}
        {%- set refreshed = ['customer_key'] + extra_columns -%}
        {%- set partition_by = config.get('partition_by') -%}
        {%- set partitions = [partition_by] if partition_by is string else (partition_by or []) -%}
        {%- set current_keys -%}
            (
                select * from {{ mapping }}
                {%- if xref_source %}
                    where source_system = '{{ xref_source[0] }}' and source_table = '{{ xref_source[1] }}'
                {%- endif %}
            )
        {%- endset -%}
        {%- set rows -%}
            select
            {%- for column in adapter.get_columns_in_relation(this) | map(attribute='name') %}
                {% if column in refreshed -%}
                    case when current_keys.{{ mapping_key }} is null then fact.{{ column }} else current_keys.{{ column }} end
                {%- else -%}
                    fact.{{ column }}
                {%- endif %} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
            from {{ this }} as fact
            left join {{ current_keys }} as current_keys
                on fact.{{ fact_key }} = current_keys.{{ mapping_key }}
            {%- if partitions %}
            left semi join (
                select distinct
                    {%- for column in partitions %}
                    stale.{{ column }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from {{ this }} as stale
                inner join {{ current_keys }} as current_keys
                    on stale.{{ fact_key }} = current_keys.{{ mapping_key }}
                where
                    not (stale.customer_key <=> current_keys.customer_key)
                    {%- for column in extra_columns %}
                    or not (stale.{{ column }} <=> current_keys.{{ column }})
                    {%- endfor %}
            ) as stale_partitions
                on
                {%- for column in partitions %}
                    {{ 'and ' if not loop.first }}fact.{{ column }} = stale_partitions.{{ column }}
                {%- endfor %}
            {%- endif %}
        {%- endset -%}
        {{- overwrite_partitions_or_table(rows, partitions) -}}
    {%- endif -%}
{%- endmacro %}


{% macro refresh_reversals() -%}
    {#- Post-hook of fct_transactions: a reversal can arrive days after the posting it
        cancels, when that posting's date is no longer rebuilt; mark (or unmark, when a
        corrected delivery withdrew the reversal) exactly the postings whose flag changed. -#}
    {{- return(adapter.dispatch('refresh_reversals', 'bankdw')()) -}}
{%- endmacro %}

{% macro default__refresh_reversals() -%}
    {%- if is_incremental() -%}
        update {{ this }} as posting
        set
            is_reversed = changed.is_reversed,
            reversed_by_txn_id = changed.reversal_txn_id,
            reversed_on = changed.reversed_on
        from (
            select
                postings.txn_id,
                reversed.txn_id is not null as is_reversed,
                reversed.reversal_txn_id,
                reversed.reversed_on
            from {{ this }} as postings
            left join {{ ref('int_transactions_reversed') }} as reversed
                on postings.txn_id = reversed.txn_id
            where
                postings.is_reversed is distinct from (reversed.txn_id is not null)
                or postings.reversed_by_txn_id is distinct from reversed.reversal_txn_id
        ) as changed
        where posting.txn_id = changed.txn_id
    {%- endif -%}
{%- endmacro %}


{% macro spark__refresh_reversals() -%}
    {#- Spark's Parquet tables have no update. The table is partitioned by business date
        (incremental_by_date, macros/engines.sql): the partitions that hold a posting whose flag
        changed are written again (dynamic partition overwrite: the other partitions stay as they
        are), those postings with their new flag, reversal and date (DuckDB's update sets the
        three), every other row as it was; a table not partitioned is rewritten whole
        (rewrite_table). A night whose reversals change no earlier posting writes nothing. -#}
    {%- if is_incremental() -%}
        {%- set partition_by = config.get('partition_by') -%}
        {%- set partitions = [partition_by] if partition_by is string else (partition_by or []) -%}
        {%- set refreshed = {
            'is_reversed': 'reversed.txn_id is not null',
            'reversed_by_txn_id': 'reversed.reversal_txn_id',
            'reversed_on': 'reversed.reversed_on',
        } -%}
        {%- set changed -%}
            (
                not (posting.is_reversed <=> (reversed.txn_id is not null))
                or not (posting.reversed_by_txn_id <=> reversed.reversal_txn_id)
            )
        {%- endset -%}
        {%- set rows -%}
            select
            {%- for column in adapter.get_columns_in_relation(this) | map(attribute='name') %}
                {% if column in refreshed -%}
                    case when {{ changed }} then {{ refreshed[column] }} else posting.{{ column }} end
                {%- else -%}
                    posting.{{ column }}
                {%- endif %} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
            from {{ this }} as posting
            left join {{ ref('int_transactions_reversed') }} as reversed
                on posting.txn_id = reversed.txn_id
            {%- if partitions %}
            left semi join (
                select distinct
                    {%- for column in partitions %}
                    posting.{{ column }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from {{ this }} as posting
                left join {{ ref('int_transactions_reversed') }} as reversed
                    on posting.txn_id = reversed.txn_id
                where {{ changed }}
            ) as stale_partitions
                on
                {%- for column in partitions %}
                    {{ 'and ' if not loop.first }}posting.{{ column }} = stale_partitions.{{ column }}
                {%- endfor %}
            {%- endif %}
        {%- endset -%}
        {{- overwrite_partitions_or_table(rows, partitions) -}}
    {%- endif -%}
{%- endmacro %}


{% macro drop_dates_before_window(date_column, window_days) -%}
    {#- Post-hook of an incremental table that keeps a window of days: deletes the dates that
        are `window_days` or more before the latest date it holds, the same days the full
        refresh leaves out. A late delivery of a date before the window inserts nothing (the
        model filters it), so its load stays newer than the table's watermark and the next
        night reads from that date again: one night more, until a newer date is inserted. -#}
    {{- return(adapter.dispatch('drop_dates_before_window', 'bankdw')(date_column, window_days)) -}}
{%- endmacro %}

{% macro default__drop_dates_before_window(date_column, window_days) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ date_column }} <= (select max(kept.{{ date_column }}) from {{ this }} as kept) - {{ window_days }}
    {%- endif -%}
{%- endmacro %}


{% macro spark__drop_dates_before_window(date_column, window_days) -%}
    {#- Spark: a table partitioned by the date (incremental_by_date, macros/engines.sql) drops
        those dates' partitions (their files and their entries in the metastore); one not
        partitioned by it is rewritten without them (delete_rows). -#}
    {%- if is_incremental() -%}
        {%- set condition -%}
            {{ date_column }} <= (select max(kept.{{ date_column }}) from {{ this }} as kept) - {{ window_days }}
        {%- endset -%}
        {%- if config.get('partition_by') in (date_column, [date_column]) -%}
            {%- set dropped = run_query(
                'select distinct cast(' ~ date_column ~ ' as string) from ' ~ this ~ ' where ' ~ condition
            ).columns[0].values() -%}
            {%- if dropped | length > 0 -%}
                alter table {{ this }} drop if exists
                {%- for day in dropped | sort %}
                    partition ({{ date_column }} = '{{ day }}'){{ ',' if not loop.last }}
                {%- endfor %}
            {%- endif -%}
        {%- else -%}
            {{- delete_rows(this, 'dated', condition) -}}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro get_incremental_replace_tail_sql(arg_dict) -%}
    {{- return(adapter.dispatch('get_incremental_replace_tail_sql', 'bankdw')(arg_dict)) -}}
{%- endmacro %}

{% macro default__get_incremental_replace_tail_sql(arg_dict) -%}
    {#- A custom incremental strategy for tables of a key (an account) by day, rebuilt from a
        restart date on: every row of the batch carries `rebuilt_from`, the date from which its
        key's rows were rebuilt. The target's rows from the batch's latest `rebuilt_from` on
        (the night's restart) are deleted for every key, those in the batch or not (a corrected
        delivery can remove a key's days); a key rebuilt from earlier (its whole history, say)
        loses its rows from that date on. Then the batch is inserted: rows before the restart
        only for keys that did not have them. An empty batch changes nothing.
        A batch row whose day is null is a marker, never inserted: one with a key deletes that
        key's rows from its `rebuilt_from` on (a key whose rows a night removes: it has none in
        the batch), one without a key carries the night's restart (9999-12-31 when nothing is
        new), so that a batch of keys rebuilt from earlier only does not delete every key's rows
        from the earliest of them.
        Config: `tail_key` (the key column), `tail_date_column` (the day): incremental_by_tail
        (macros/engines.sql), whose Spark form partitions the table by the day. -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = config.get('tail_key') -%}
    {%- set day = config.get('tail_date_column') -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where {{ day }} >= (select max(new_rows.rebuilt_from) from {{ source }} as new_rows);

    delete from {{ target }} as target_row
    using (
        select
            new_rows.{{ key }},
            min(new_rows.rebuilt_from) as rebuilt_from
        from {{ source }} as new_rows
        group by new_rows.{{ key }}
        having min(new_rows.rebuilt_from) < (select max(all_rows.rebuilt_from) from {{ source }} as all_rows)
    ) as rebuilt_keys
    where
        target_row.{{ key }} = rebuilt_keys.{{ key }}
        and target_row.{{ day }} >= rebuilt_keys.rebuilt_from;

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
    where {{ day }} is not null
{%- endmacro %}

{% macro replace_tail_markers(columns) -%}
    {#- The marker rows of a model incremental by month per account (strategy replace_tail), to
        follow its final select: on an incremental run, one without an account that carries the
        night's restart and one for each account rebuilt from an earlier month, from the model's
        CTEs `restart` and `rebuilt_accounts` (full_refresh_restart's names); nothing on a full
        refresh. The strategy reads them and never inserts them (see
        default__get_incremental_replace_tail_sql, and its Spark form in macros/engines.sql); the
        SQL is the same on both engines. The union is by position, so `columns` are the final
        select's, in its order: every one but account_id and rebuilt_from is null in a marker. -#}
    {%- if is_incremental() %}
    -- markers the strategy does not insert (macros/incremental.sql): the night's restart, and
    -- the accounts rebuilt from an earlier month
    {%- set markers %}
        select
            null as account_id,
            restart.restart_date as rebuilt_from
        from restart
        union all
        select
            rebuilt_accounts.account_id,
            rebuilt_accounts.rebuilt_from
        from rebuilt_accounts
    {%- endset %}
    {{ positional_markers(columns, 'account_id', markers) }}
    {%- endif %}
{%- endmacro %}

{% macro positional_markers(columns, key, markers) -%}
    {#- Marker rows to follow a model's final select, united with it by position (Spark has no
        union by name): the rows of the query `markers` (`key` and rebuilt_from), as the final
        select's `columns` in its order, every one but those two null. For replace_tail_markers
        and the value models' markers on Spark (macros/value.sql). -#}
    union all
    select
    {%- for column in columns %}
        {{ 'markers.' ~ column if column in (key, 'rebuilt_from') else 'null' }} as {{ column }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from ({{ markers }}
    ) as markers
{%- endmacro %}

{% macro keys_with_changed_fingerprint(key, fingerprint, current, new_keys=false) -%}
    {#- For an incremental table whose rows carry `fingerprint`, a digest of what their `key`'s
        rows were built from (an account's legs, its balance side and rate): the keys whose
        fingerprint in `current` (a relation or CTE with `key` and `fingerprint`) is not the one
        this table holds, or that are no longer there, and with `new_keys` those `current` holds
        and this table does not. A full refresh applies today's inputs to every row, so a night
        builds those keys' rows again, all of them. -#}
    select {% if new_keys %}coalesce(kept.{{ key }}, current_rows.{{ key }}) as {{ key }}{% else %}kept.{{ key }}{% endif %}
    from (
        select distinct
            kept_rows.{{ key }},
            kept_rows.{{ fingerprint }}
        from {{ this }} as kept_rows
    ) as kept
    {% if new_keys %}full outer join{% else %}left join{% endif %} {{ current }} as current_rows
        on kept.{{ key }} = current_rows.{{ key }}
    where kept.{{ fingerprint }} is distinct from current_rows.{{ fingerprint }}
{%- endmacro %}


{% macro full_refresh_restart(rebuilt='rebuilt_accounts', key='account_id') -%}
    {#- The CTEs `restart` and `rebuilt` (default `rebuilt_accounts`, keyed by `key`) of a model
        incremental by month per key (strategy replace_tail), as a full refresh has them:
        everything from the beginning, no key rebuilt from earlier. -#}
    restart as (

        select date '0001-01-01' as restart_date

    ),

    {{ rebuilt }} as (

        select
            cast(null as {{ string_type() }}) as {{ key }},
            cast(null as date) as rebuilt_from
        where false

    ),
{%- endmacro %}


{% macro overwrite_partitions_or_table(rows, partitions) -%}
    {#- Spark: `rows` (every row of the partitions they hold, or of the table) written over this
        table's partitions when it is partitioned by `partitions` (dynamic partition overwrite:
        the other partitions are not touched), else over the whole table (rewrite_table). -#}
    {%- if partitions -%}
        insert overwrite table {{ this }} {{ partition_cols(label='partition') }}
        {{ rows }}
    {%- else -%}
        {{- rewrite_table(this, rows) -}}
    {%- endif -%}
{%- endmacro %}


{% macro rewritten_from(relation, watermark_column, run_column='built_in_run') -%}
    {#- A model incremental by month over a whole-month input (`relation`, whose rows carry
        `rebuilt_from`, the month its night rebuilt every customer from, and `run_column`, the
        run that wrote them): the month this night rebuilds every customer from. On an
        incremental run, the earliest `rebuilt_from` among the rows written by a run newer
        than this table's `watermark_column` (that input's latest run it read), 9999-12-31
        when none is newer. The earliest, not the latest: rows of two runs this table did not
        read (a night that built the input and not this table) restart at the earlier one.
        Every row written from that month on is newer, so every month from it is rebuilt.
        On a full refresh, 0001-01-01: every month. -#}
    {%- if is_incremental() -%}
    (
        select coalesce(min(newer.rebuilt_from), date '9999-12-31')
        from {{ relation }} as newer
        where newer.{{ run_column }} > {{ table_watermark(watermark_column) }}
    )
    {%- else -%}
    date '0001-01-01'
    {%- endif -%}
{%- endmacro %}
