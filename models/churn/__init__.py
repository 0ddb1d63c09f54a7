"""The churn early-warning model (docs/models.md): who is about to leave, and why.

Small modules, each one step: `features` (what was known about a customer on a scoring date),
`labels` (who left within the horizon after it, by the bank's own data), `dataset` (scoring
dates and the time-based split), `train` (LightGBM with a sigmoid calibration), `store` (model
versions in the data directory), `evaluate` (held-out figures), `reasons` (the features that
push a customer's score up, in words) and `score` (a night's scores).
"""
