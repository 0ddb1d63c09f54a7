-- The bank's profitability per month: every account of fct_account_profitability_monthly
-- summed (macros/profitability_rollup.sql). The reconciliation tests tie this mart, and
-- every other profitability mart, month by month to sources they are not built from: the
-- ledger's fees and booked interest, the loan book (credit cost); the service costs the
-- accounts carry, with fct_unallocated_cost_monthly, to volumes x unit costs.
{{ profitability_rollup() }}
