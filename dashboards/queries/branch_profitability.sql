-- Profitability by branch and month, with the branch's name and region.
select
    b.month_start,
    b.branch_id,
    d.branch_name,
    d.region,
    b.net_interest_income,
    b.fee_income,
    b.other_income,
    b.operating_cost,
    b.credit_cost,
    b.contribution,
    b.capital_charge,
    b.economic_profit,
    b.raroc
from marts.fct_branch_profitability_monthly as b
left join marts.dim_branch as d on b.branch_id = d.branch_id
