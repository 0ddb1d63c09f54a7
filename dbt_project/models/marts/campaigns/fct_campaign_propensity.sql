-- One row per customer and scoring date: the nightly campaign propensities (docs/models.md,
-- Campaign response), each night adding its own date (incremental, delete+insert on
-- score_date; on Spark partitioned by score_date, its partition overwritten). Built from
-- int_campaign_propensity_history: the archive of published nights (bankdw/scores.py) and
-- tonight's, so a full refresh gives the same rows.
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date('score_date'),
    )
}}
with propensity_history as (

    select * from {{ ref('int_campaign_propensity_history') }}

),

final as (

    select
        propensity_history.customer_key,
        propensity_history.score_date,
        propensity_history.propensity,
        propensity_history.propensity_rank,
        propensity_history.model_version
    from propensity_history
    {% if is_incremental() %}
        where propensity_history.is_scored_tonight
    {% endif %}

)

select * from final
