-- The customers most likely to leave tonight (the 200 highest scores), with their value and RM.
select
    c.customer_key,
    c.rm_id,
    c.home_branch_id,
    c.value_tier,
    c.churn_probability::double precision as churn_probability,
    c.churn_risk_band,
    c.churn_top_reason,
    c.contribution_12m,
    c.deposit_balance
from marts.customer_360 as c
where c.churn_probability is not null
order by c.churn_probability desc, c.customer_key
limit 200
