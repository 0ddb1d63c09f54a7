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
