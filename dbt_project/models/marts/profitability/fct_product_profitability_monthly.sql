-- Profitability of every product and month: fct_account_profitability_monthly summed by
-- the account's product_code (macros/profitability_rollup.sql).
{{ profitability_rollup('product_code') }}
