-- The Pareto curve of the latest month: share of the month's positive contribution made by the
-- customers ranked up to each one. At most ~200 points (every n-th rank, first and last kept),
-- so that the page stays small at any bank's size.
with latest as (
    select
        v.pareto_rank,
        v.cumulative_contribution_share,
        count(*) over () as n_ranked
    from marts.fct_customer_value_monthly as v
    where
        v.month_start = (select max(m.month_start) from marts.fct_customer_value_monthly as m)
        and v.pareto_rank is not null
)

select
    latest.pareto_rank,
    latest.pareto_rank::numeric / latest.n_ranked as customer_share,
    latest.cumulative_contribution_share as contribution_share
from latest
where
    latest.pareto_rank = 1
    or latest.pareto_rank = latest.n_ranked
    or latest.pareto_rank % greatest(1, latest.n_ranked / 200) = 0
order by latest.pareto_rank
