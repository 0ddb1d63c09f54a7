-- One row per customer and scoring date: the nightly churn scores (docs/models.md), each night
-- adding its own date (incremental, delete+insert on score_date: a night built again replaces
-- its scores). The scores come from int_churn_scores, built and published with the warehouse.
-- A full refresh starts the history again from tonight: the scores of past nights are what the
-- model in force then said, and are not recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='fail',
    )
}}
with scores as (

    select * from {{ ref('int_churn_scores') }}

),

final as (

    select
        scores.customer_key,
        scores.score_date,
        cast(scores.churn_probability as decimal(5, 4)) as churn_probability,
        scores.risk_band,
        scores.reason_1,
        scores.reason_1_feature,
        cast(scores.reason_1_contribution as decimal(9, 4)) as reason_1_contribution,
        scores.reason_2,
        scores.reason_2_feature,
        cast(scores.reason_2_contribution as decimal(9, 4)) as reason_2_contribution,
        scores.reason_3,
        scores.reason_3_feature,
        cast(scores.reason_3_contribution as decimal(9, 4)) as reason_3_contribution,
        scores.model_version
    from scores

)

select * from final
