-- Every night's churn scores: the archived nights (bankdw/scores.py) but those scored again
-- tonight, and tonight's (int_churn_scores), cast as fct_churn_scores publishes them. Ephemeral:
-- the incremental mart selects tonight's dates only; a full refresh selects every night.
with archived as (

    select * from {{ source('scores', 'churn') }}

),

tonight as (

    select * from {{ ref('int_churn_scores') }}

),

earlier_nights as (

    select
        archived.customer_key,
        archived.score_date,
        archived.churn_probability,
        archived.risk_band,
        archived.reason_1,
        archived.reason_1_feature,
        archived.reason_1_contribution,
        archived.reason_2,
        archived.reason_2_feature,
        archived.reason_2_contribution,
        archived.reason_3,
        archived.reason_3_feature,
        archived.reason_3_contribution,
        archived.model_version,
        false as is_scored_tonight
    from archived
    where archived.score_date not in (select tonight.score_date from tonight)

),

scored_tonight as (

    select
        tonight.customer_key,
        tonight.score_date,
        cast(tonight.churn_probability as decimal(5, 4)) as churn_probability,
        tonight.risk_band,
        tonight.reason_1,
        tonight.reason_1_feature,
        cast(tonight.reason_1_contribution as decimal(9, 4)) as reason_1_contribution,
        tonight.reason_2,
        tonight.reason_2_feature,
        cast(tonight.reason_2_contribution as decimal(9, 4)) as reason_2_contribution,
        tonight.reason_3,
        tonight.reason_3_feature,
        cast(tonight.reason_3_contribution as decimal(9, 4)) as reason_3_contribution,
        tonight.model_version,
        true as is_scored_tonight
    from tonight

),

final as (

    select * from earlier_nights
    union all
    select * from scored_tonight

)

select * from final
