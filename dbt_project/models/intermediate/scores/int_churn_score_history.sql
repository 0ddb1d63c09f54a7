-- Every night's churn scores: the archived nights (bankdw/scores.py) but those scored again
-- tonight, and tonight's (int_churn_scores), cast as fct_churn_scores publishes them. Ephemeral:
-- the incremental mart selects tonight's dates only; a full refresh selects every night.
{{ score_history(
    source('scores', 'churn'),
    ref('int_churn_scores'),
    columns=[
        'customer_key', 'score_date', 'churn_probability', 'risk_band',
        'reason_1', 'reason_1_feature', 'reason_1_contribution',
        'reason_2', 'reason_2_feature', 'reason_2_contribution',
        'reason_3', 'reason_3_feature', 'reason_3_contribution',
        'model_version'
    ],
    casts={
        'churn_probability': 'decimal(5, 4)',
        'reason_1_contribution': 'decimal(9, 4)',
        'reason_2_contribution': 'decimal(9, 4)',
        'reason_3_contribution': 'decimal(9, 4)'
    }
) }}
