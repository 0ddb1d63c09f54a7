"""The Python analytical and statistical models of the warehouse.

- `models.identity`: identity resolution of the core customer records and their stable
  customer keys, run by the pipeline's `resolve` step; a package of small modules (records,
  rules, probabilistic, keys, evaluate, ...).
- `models.profitability`: the Pareto (whale) curve of customer economic profit, read from the
  published warehouse.
- `models.value`: customer value; today the household key that survives members joining and
  leaving (`households`, used by the dbt Python model `int_customer_households`). The tiers,
  classes and RFM are SQL (dbt_project/models/intermediate/value/).

Models to come (lifetime value, churn) follow the identity package's shape: features,
fit, score and evaluate in modules of their own.
"""
