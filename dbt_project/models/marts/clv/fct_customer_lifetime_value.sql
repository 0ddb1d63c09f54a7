-- One row per customer and scoring date: the nightly lifetime value scores (docs/models.md),
-- each night adding its own date (incremental, delete+insert on score_date: a night built
-- again replaces its scores; on Spark partitioned by score_date, its partition overwritten).
-- Built from int_clv_score_history: the archive of published nights
-- (bankdw/scores.py, published and rolled back with the warehouse) and tonight's scores, so a
-- full refresh, or a rebuild from the lake, gives the same rows: past nights' scores are what
-- the model in force then said, kept, not recomputed.
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date('score_date'),
    )
}}
with score_history as (

    select * from {{ ref('int_clv_score_history') }}

),

final as (

    select
        score_history.customer_key,
        score_history.score_date,
        score_history.value_tier,
        score_history.expected_contribution_12m,
        score_history.expected_contribution_36m,
        score_history.clv,
        score_history.retention_probability,
        score_history.model_version
    from score_history
    {% if is_incremental() %}
        where score_history.is_scored_tonight
    {% endif %}

)

select * from final
