-- Tonight's churn risk by band (customer_360: customers scored on the latest business date),
-- with the 12-month contribution that each band puts at risk. No row when no model is trained.
select
    c.churn_risk_band,
    count(*)::integer as customers,
    avg(c.churn_probability)::double precision as mean_churn_probability,
    sum(c.contribution_12m) as contribution_12m
from marts.customer_360 as c
where c.churn_probability is not null
group by c.churn_risk_band
