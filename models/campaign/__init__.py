"""Campaign response: which customers an outbound campaign should call next (docs/models.md).

`features` (point-in-time rows of the past campaigns' contacts), `fit` (LightGBM, calibrated,
a time-based split), `store` (versions in the data directory), `score` (tonight's ranking),
`evaluate` (figures on the held-out contacts).
"""
