"""The Python analytical and statistical models of the warehouse.

- `models.identity`: identity resolution of the core customer records and their stable
  customer keys, run by the pipeline's `resolve` step; a package of small modules (records,
  rules, probabilistic, keys, evaluate, ...).
- `models.profitability`: the Pareto (whale) curve of customer economic profit, read from the
  published warehouse.

Models to come (value, lifetime value, churn) follow the identity package's shape: features,
fit, score and evaluate in modules of their own.
"""
