-- Every night's lifetime value scores: the archived nights (bankdw/scores.py) but those scored
-- again tonight, and tonight's (int_clv_scores), cast as fct_customer_lifetime_value publishes
-- them. Ephemeral: the incremental mart selects tonight's dates only.
{{ score_history(source('scores', 'clv'), ref('int_clv_scores'), 'fct_customer_lifetime_value') }}
