-- The dates the figures are taken on: the latest month and business date published.
select
    (select max(v.month_start) from marts.fct_customer_value_monthly as v) as value_month,
    (select max(l.month_start) from marts.fct_loan_book_monthly as l) as loan_book_month,
    (select max(p.month_start) from marts.fct_bank_profitability_monthly as p) as profitability_month,
    (select max(s.score_date) from marts.fct_churn_scores as s) as churn_score_date
