-- The bank's profitability per month: every account of fct_account_profitability_monthly
-- summed (macros/profitability_rollup.sql). The reconciliation tests check that customers,
-- products, branches, RMs and segments add up to these totals, and these totals to the
-- ledger (fees) and the loan book (credit cost).
{{ profitability_rollup() }}
