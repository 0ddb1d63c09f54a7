-- One row per customer and scoring date: the nightly lifetime value scores (docs/models.md),
-- each night adding its own date (incremental, delete+insert on score_date: a night built
-- again replaces its scores). The scores come from int_clv_scores, built and published with
-- the warehouse. A full refresh starts the history again from tonight: past nights' scores are
-- what the model in force then said, and are not recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='score_date',
        on_schema_change='fail',
    )
}}
with scores as (

    select * from {{ ref('int_clv_scores') }}

),

final as (

    select
        scores.customer_key,
        scores.score_date,
        scores.value_tier,
        cast(scores.expected_contribution_12m as decimal(18, 2)) as expected_contribution_12m,
        cast(scores.expected_contribution_36m as decimal(18, 2)) as expected_contribution_36m,
        cast(scores.clv as decimal(18, 2)) as clv,
        cast(scores.retention_probability as decimal(5, 4)) as retention_probability,
        scores.model_version
    from scores

)

select * from final
