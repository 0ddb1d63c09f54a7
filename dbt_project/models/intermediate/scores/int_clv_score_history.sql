-- Every night's lifetime value scores: the archived nights (bankdw/scores.py) but those scored
-- again tonight, and tonight's (int_clv_scores), cast as fct_customer_lifetime_value publishes
-- them. Ephemeral: the incremental mart selects tonight's dates only.
{{ score_history(
    source('scores', 'clv'),
    ref('int_clv_scores'),
    columns=[
        'customer_key', 'score_date', 'value_tier', 'expected_contribution_12m', 'expected_contribution_36m',
        'clv', 'retention_probability', 'model_version'
    ],
    casts={
        'expected_contribution_12m': 'decimal(18, 2)',
        'expected_contribution_36m': 'decimal(18, 2)',
        'clv': 'decimal(18, 2)',
        'retention_probability': 'decimal(5, 4)'
    }
) }}
