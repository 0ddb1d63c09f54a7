-- Profitability of every relationship manager and month: fct_account_profitability_monthly
-- summed by the account's rm_id, the account's own RM or else its customer's (null: mass
-- retail; macros/profitability_rollup.sql).
{{ profitability_rollup('rm_id') }}
