-- Every night's campaign propensities: the archived nights (bankdw/scores.py) but those scored
-- again tonight, and tonight's (int_campaign_propensity), cast as fct_campaign_propensity
-- publishes them. Ephemeral: the incremental mart selects tonight's dates only.
{{ score_history(
    source('scores', 'campaign_response'), ref('int_campaign_propensity'), 'fct_campaign_propensity'
) }}
