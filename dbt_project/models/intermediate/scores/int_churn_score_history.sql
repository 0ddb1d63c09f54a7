-- Every night's churn scores: the archived nights (bankdw/scores.py) but those scored again
-- tonight, and tonight's (int_churn_scores), cast as fct_churn_scores publishes them. Ephemeral:
-- the incremental mart selects tonight's dates only; a full refresh selects every night.
{{ score_history(source('scores', 'churn'), ref('int_churn_scores'), 'fct_churn_scores') }}
