-- CHURN_RISK_UP: the customer's churn risk band rose (LOW, MEDIUM, HIGH: setting
-- churn_risk_band_edges, kept with each model) from their previous score to this one, both
-- nightly scores of the same model version (int_churn_risk_bands: the archived nights and
-- tonight's). Dated the score date. measured_value and baseline_value are the churn
-- probability now and at the previous score, in percent. Severity 3 into HIGH, 2 into MEDIUM.
-- A customer's first score of a model version judges nothing (a new version's probabilities
-- are not its predecessor's), nor one whose previous score is more than
-- var churn_score_max_age_days older. No scores (no trained model): no events.
-- On an incremental night it reads the events' window and that look-back (customer_events_since).
{%- set bands_from_the_bottom = ['LOW', 'MEDIUM', 'HIGH'] %}
with scores as (

    select * from {{ ref('int_churn_risk_bands') }}
    where {{ customer_events_since('score_date', var('churn_score_max_age_days')) }}

),

ranked as (

    select
        scores.customer_key,
        scores.score_date,
        scores.model_version,
        scores.churn_probability,
        {{ list_position(bands_from_the_bottom, 'scores.risk_band') }} as band_rank
    from scores

),

compared as (

    select
        ranked.*,
        lag(ranked.score_date) over (
            partition by ranked.customer_key, ranked.model_version order by ranked.score_date
        ) as previous_score_date,
        lag(ranked.band_rank) over (
            partition by ranked.customer_key, ranked.model_version order by ranked.score_date
        ) as previous_band_rank,
        lag(ranked.churn_probability) over (
            partition by ranked.customer_key, ranked.model_version order by ranked.score_date
        ) as previous_churn_probability
    from ranked

),

final as (

    select
        compared.customer_key,
        cast(null as {{ string_type() }}) as account_id,
        compared.score_date as event_date,
        'CHURN_RISK_UP' as event_type,
        case when compared.band_rank = 3 then 3 else 2 end as severity,
        cast(100 * compared.churn_probability as decimal(18, 2)) as measured_value,
        cast(100 * compared.previous_churn_probability as decimal(18, 2)) as baseline_value
    from compared
    where
        compared.band_rank > compared.previous_band_rank
        and {{ days_between('compared.previous_score_date', 'compared.score_date') }}
        <= {{ var('churn_score_max_age_days') }}

)

select * from final
