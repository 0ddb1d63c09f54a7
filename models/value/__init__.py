"""Customer value: who creates it. The SQL part (tiers, classes, RFM, migration) lives in the
dbt project (`models/intermediate/value/`); Python here holds what SQL has no good form for:
the household key that survives members joining and leaving (`households`)."""
