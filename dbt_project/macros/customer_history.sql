{#
    The customer history built incrementally (docs/identity.md, "The golden record and its
    history"): int_customers_unified_daily -> int_customer_versions -> dim_customer_history.

    Two ledgers say what changed since the published warehouse: int_customer_history_dates
    (snapshot dates new or re-delivered) and int_customer_history_keys (customer keys whose
    member records changed: new, joined, merged, split or retired). A nightly build unifies the
    changed dates and the changed customers only, recomputes each customer's versions from the
    first day that changed its sequence of days, and copies to the mart the customers whose
    versions changed. A full refresh builds the same tables from every snapshot.
#}

{% macro customer_history_tracked(relation, first_by=none) -%}
    {#- The tracked attributes of the history, the ones whose change opens a version, as a
        column list of `relation`; with `first_by`, each the first value in that order. -#}
    {%- set tracked = [
        'customer_type', 'full_name', 'birth_date', 'gender', 'city', 'region', 'home_branch_id',
        'rm_id', 'kyc_risk_rating', 'onboarding_date', 'status', 'n_source_records',
    ] -%}
    {%- for column in tracked %}
        {%- if first_by %}
    {{ ordered_first(relation ~ '.' ~ column, [first_by]) }} as {{ column }}{{ "," if not loop.last }}
        {%- else %}
    {{ relation }}.{{ column }}{{ "," if not loop.last }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}


{% macro customer_history_changes() -%}
    {#- What the ledgers list as changed, read when the model runs (they are built before it):
        the changed dates as SQL date literals (rendered into the query, so DuckDB skips the
        other snapshots' row groups in the lake) and whether any customer key changed. -#}
    {%- set changes = {'dates': [], 'keys': false} -%}
    {%- if execute and is_incremental() -%}
        {%- set dates = run_query(
            "select cast(snapshot_date as " ~ string_type() ~ ") from " ~ ref('int_customer_history_dates')
            ~ " where is_changed order by 1"
        ) -%}
        {%- set keys = run_query(
            "select count(*) from " ~ ref('int_customer_history_keys') ~ " where is_changed"
        ) -%}
        {%- do changes.update({
            'dates': dates.columns[0].values() | list,
            'keys': keys.columns[0].values()[0] > 0,
        }) -%}
    {%- endif -%}
    {{- return(changes) -}}
{%- endmacro %}


{% macro customer_history_date_list(dates) -%}
    {#- `in (...)` of the changed dates; `(null)` matches nothing. -#}
    ({%- for day in dates %}date '{{ day }}'{{ ', ' if not loop.last }}{% else %}null{% endfor -%})
{%- endmacro %}


{% macro delete_changed_customer_days() -%}
    {#- Pre-hook of int_customers_unified_daily: its rows on the changed dates and of the changed
        customers go; the model then inserts them as rebuilt (strategy append). Deleting first
        is safe because the model reads the ledgers, not this table. -#}
    {%- if is_incremental() -%}
        {%- set changes = customer_history_changes() -%}
        {%- set changed_rows -%}
            day_row.snapshot_date in {{ customer_history_date_list(changes.dates) }}
            {%- if changes.keys %}
                or day_row.customer_key in (
                    select changed_keys.customer_key
                    from {{ ref('int_customer_history_keys') }} as changed_keys
                    where changed_keys.is_changed
                )
            {%- endif %}
        {%- endset -%}
        {{ delete_rows(this, 'day_row', changed_rows) }}
    {%- endif -%}
{%- endmacro %}


{% macro customer_history_touched_keys() -%}
    {#- The customers whose versions this build changed as dim_customer_history shows them (the
        versions stamped with the newest load), and the customers rebuilt or retired. A key
        listed in vain (stamped by an earlier build of the same load) is copied again, which
        changes nothing. -#}
    select stamped.customer_key
    from {{ ref('int_customer_versions') }} as stamped
    where stamped.load_id = (select max(ledger.load_id) from {{ ref('int_customer_history_dates') }} as ledger)
    union
    select changed_keys.customer_key
    from {{ ref('int_customer_history_keys') }} as changed_keys
    where changed_keys.is_changed
{%- endmacro %}


{% macro delete_touched_customer_versions() -%}
    {#- Pre-hook of dim_customer_history: the touched customers' versions go, the model inserts
        their versions again from int_customer_versions (strategy append). -#}
    {%- if is_incremental() -%}
        {{ delete_rows(this, 'version_row', 'version_row.customer_key in (' ~ customer_history_touched_keys() ~ ')') }}
    {%- endif -%}
{%- endmacro %}


{% macro get_incremental_replace_customer_tail_sql(arg_dict) -%}
    {#- Incremental strategy of int_customer_versions: for every customer in the new rows, its
        versions from `replace_from` on are replaced by the new rows (a customer's tail), the
        versions before stay as they are. A row without valid_from only carries the deletion
        (a customer with nothing left from that date: retired, or rebuilt without days). -#}
    {{- return(adapter.dispatch('get_incremental_replace_customer_tail_sql', 'bankdw')(arg_dict)) -}}
{%- endmacro %}


{% macro default__get_incremental_replace_customer_tail_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }} as target_row
    using (
        select
            new_rows.customer_key,
            min(new_rows.replace_from) as replace_from
        from {{ source }} as new_rows
        group by new_rows.customer_key
    ) as replaced
    where
        target_row.customer_key = replaced.customer_key
        and target_row.valid_from >= replaced.replace_from;

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
    where valid_from is not null
{%- endmacro %}


{% macro spark__get_incremental_replace_customer_tail_sql(arg_dict) -%}
    {#- Spark's Parquet tables have no delete: the table is written again (rewrite_table,
        macros/engines.sql) from its versions that stay (before the customer's replace_from, or of
        a customer not in the new rows) and the new versions, the same rows as DuckDB's. The new
        rows are read twice: written once to a table first (batch_table), not the model's query
        run twice. -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = batch_table(target, arg_dict['temp_relation']) -%}
    {#- the CTEs the model's query computed once (restart_points), which nothing reads from here -#}
    {%- do drop_computed_once() -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    {%- set rows -%}
        select {{ columns }}
        from {{ target }} as target_row
        left anti join (
            select
                new_rows.customer_key,
                min(new_rows.replace_from) as replace_from
            from {{ source }} as new_rows
            group by new_rows.customer_key
        ) as replaced
            on
                target_row.customer_key = replaced.customer_key
                and target_row.valid_from >= replaced.replace_from
        union all
        select {{ columns }}
        from {{ source }}
        where valid_from is not null
    {%- endset -%}
    {%- set last = rewrite_table(target, rows) -%}
    {%- do run_query('drop table ' ~ source) -%}
    {{- last -}}
{%- endmacro %}
