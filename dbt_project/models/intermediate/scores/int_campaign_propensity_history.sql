-- Every night's campaign propensities: the archived nights (bankdw/scores.py) but those scored
-- again tonight, and tonight's (int_campaign_propensity), cast as fct_campaign_propensity
-- publishes them. Ephemeral: the incremental mart selects tonight's dates only.
with archived as (

    select * from {{ source('scores', 'campaign_response') }}

),

tonight as (

    select * from {{ ref('int_campaign_propensity') }}

),

earlier_nights as (

    select
        archived.customer_key,
        archived.score_date,
        archived.propensity,
        archived.propensity_rank,
        archived.model_version,
        false as is_scored_tonight
    from archived
    where archived.score_date not in (select tonight.score_date from tonight)

),

scored_tonight as (

    select
        tonight.customer_key,
        tonight.score_date,
        cast(tonight.propensity as decimal(5, 4)) as propensity,
        cast(tonight.propensity_rank as bigint) as propensity_rank,
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
