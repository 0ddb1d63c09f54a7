-- Every night's churn risk band of every scored customer: the score date, the model version,
-- the probability and its band, from the archive of published nights and tonight's scores
-- (int_churn_score_history), incremental by score date as fct_churn_scores is (a night adds
-- its own date, and an archived one the table lacks; on Spark partitioned by score_date).
-- What the customer events (CHURN_RISK_UP) and the leads' priority read: a table, so that
-- their views name no path of the score archive (the build area's, gone once published).
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_date('score_date'),
    )
}}
with score_history as (

    select * from {{ ref('int_churn_score_history') }}

),

final as (

    select
        score_history.customer_key,
        score_history.score_date,
        score_history.model_version,
        score_history.churn_probability,
        score_history.risk_band
    from score_history
    {% if is_incremental() %}
        -- and any archived night the table lacks: nights archived before this table existed or
        -- by the first build with an archive (bankdw/scores.py, start_archive)
        where
            score_history.is_scored_tonight
            or score_history.score_date not in (select kept.score_date from {{ this }} as kept)
    {% endif %}

)

select * from final
