-- Profitability by relationship manager and month (no RM: the customers nobody looks after).
select
    r.month_start,
    coalesce(r.rm_id, '(no RM)') as rm_id,
    coalesce(d.full_name, '(no RM)') as rm_name,
    d.branch_id,
    r.net_interest_income,
    r.fee_income,
    r.other_income,
    r.operating_cost,
    r.credit_cost,
    r.contribution,
    r.capital_charge,
    r.economic_profit,
    r.raroc
from marts.fct_relationship_manager_profitability_monthly as r
left join marts.dim_relationship_manager as d on r.rm_id = d.rm_id
