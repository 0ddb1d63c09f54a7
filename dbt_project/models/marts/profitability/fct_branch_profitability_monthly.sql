-- Profitability of every branch and month: fct_account_profitability_monthly summed by
-- the account's branch_id (macros/profitability_rollup.sql).
{{ profitability_rollup('branch_id') }}
