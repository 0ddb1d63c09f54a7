{#- The value chain's months (docs/customer_value.md): what its models above the features share. -#}

{% macro value_features_from_restart() -%}
    {#- The CTEs with which int_customer_value_monthly and int_customer_rfm_monthly (incremental
        by month, strategy replace_tail, macros/incremental.sql) read their CTE `all_features`
        (int_customer_value_features_monthly, every month): `restart`, the month this night
        rebuilds every customer from (rewritten_from: the earliest the features rebuilt since
        this table read them; every month on a full refresh); `features`, the months from it;
        `features_watermark`, the features' latest run, which the rows keep as
        features_built_in_run (this table's watermark for the next night). -#}
restart as (

    select
        {{ rewritten_from(ref('int_customer_value_features_monthly'), 'features_built_in_run') }}
            as restart_date

),

features as (

    select all_features.*
    from all_features
    cross join restart
    where all_features.month_start >= restart.restart_date

),

features_watermark as (

    select max(all_features.built_in_run) as features_built_in_run
    from all_features

)
{%- endmacro %}


{% macro value_mart_restart(relation, mart_rows='count(*)') -%}
    {#- A public value mart (a thin copy of `relation`, one of the value chain's intermediate
        tables, incremental by month with rows carrying `rebuilt_from` and `built_in_run`),
        incremental by month without a lineage column of its own: the month from which this night
        copies the rows again. The pipeline builds the mart in the run that builds `relation`, so
        the months `relation`'s latest run rewrote (from its rows' `rebuilt_from`) are the ones
        that changed; and, should the mart have missed a run of it (built alone, say), the
        earliest month whose rows the mart does not count as many as `relation` (`mart_rows`:
        how the mart counts a month's rows of `relation`). 9999-12-31 when nothing is to copy;
        every month on a full refresh. -#}
    {%- if is_incremental() -%}
    least(
        (
            select coalesce(min(latest.rebuilt_from), date '9999-12-31')
            from {{ relation }} as latest
            where latest.built_in_run = (select max(all_rows.built_in_run) from {{ relation }} as all_rows)
        ),
        (
            select min(coalesce(source_months.month_start, mart_months.month_start))
            from (
                select
                    source_rows.month_start,
                    count(*) as n_rows
                from {{ relation }} as source_rows
                group by source_rows.month_start
            ) as source_months
            full outer join (
                select
                    mart.month_start,
                    {{ mart_rows }} as n_rows
                from {{ this }} as mart
                group by mart.month_start
            ) as mart_months
                on source_months.month_start = mart_months.month_start
            where source_months.n_rows is distinct from mart_months.n_rows
        )
    )
    {%- else -%}
    date '0001-01-01'
    {%- endif -%}
{%- endmacro %}


{% macro delete_value_mart_months_gone(relation) -%}
    {#- Post-hook of a public value mart (value_mart_restart): deletes its months that `relation`
        no longer holds (its batch, delete+insert by month, replaces only the months it holds). -#}
    {{- return(adapter.dispatch('delete_value_mart_months_gone', 'bankdw')(relation)) -}}
{%- endmacro %}

{% macro default__delete_value_mart_months_gone(relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where month_start not in (select source_rows.month_start from {{ relation }} as source_rows)
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_value_mart_months_gone(relation) -%}
    {#- Spark: the mart is partitioned by month_start (incremental_by_date, macros/engines.sql),
        whose batch overwrites the partitions it holds: drops those months' partitions. A night
        that finds none runs nothing. -#}
    {%- if is_incremental() -%}
        {%- set gone = run_query(
            'select distinct cast(mart.month_start as string) from ' ~ this ~ ' as mart'
            ~ ' where mart.month_start not in (select source_rows.month_start from ' ~ relation ~ ' as source_rows)'
        ).columns[0].values() -%}
        {%- if gone | length > 0 -%}
            alter table {{ this }} drop if exists
            {%- for month in gone | sort %}
                partition (month_start = '{{ month }}'){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro value_markers(rebuilt_customers=none, columns=none) -%}
    {#- The marker rows of a value model incremental by month (strategy replace_tail), to follow
        its final select: on an incremental run, one carrying the night's restart (the model's
        CTE `restart`) and, given `rebuilt_customers` (a CTE of customer_key), one for each
        customer rebuilt whole, from the first month (one who has no row any more loses them
        all); nothing on a full refresh. The strategy reads them and never inserts them
        (macros/incremental.sql; replace_tail_markers is the profitability chain's form).
        DuckDB unions them by name; Spark's union is by position, so there `columns` (the final
        select's, in its order) name them: every one but customer_key and rebuilt_from is null
        in a marker. -#}
    {{- return(adapter.dispatch('value_markers', 'bankdw')(rebuilt_customers, columns)) -}}
{%- endmacro %}

{% macro default__value_markers(rebuilt_customers, columns) -%}
    {%- if is_incremental() %}
    union all by name
    select restart.restart_date as rebuilt_from
    from restart
    {%- if rebuilt_customers %}
    union all by name
    select
        {{ rebuilt_customers }}.customer_key,
        date '0001-01-01' as rebuilt_from
    from {{ rebuilt_customers }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}


{% macro spark__value_markers(rebuilt_customers, columns) -%}
    {%- if is_incremental() %}
    {%- if not columns -%}
        {%- do exceptions.raise_compiler_error("value_markers: on Spark the final select's columns are needed") -%}
    {%- endif %}
    {%- set markers %}
        select
            cast(null as {{ string_type() }}) as customer_key,
            restart.restart_date as rebuilt_from
        from restart
        {%- if rebuilt_customers %}
        union all
        select
            {{ rebuilt_customers }}.customer_key,
            date '0001-01-01' as rebuilt_from
        from {{ rebuilt_customers }}
        {%- endif %}
    {%- endset %}
    {{ positional_markers(columns, 'customer_key', markers) }}
    {%- endif %}
{%- endmacro %}
