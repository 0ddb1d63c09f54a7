-- The scalar assumptions of the profitability method as one row with one typed column each
-- (from the profitability_assumptions seed), so that models cross join it.
with assumptions as (

    select * from {{ ref('profitability_assumptions') }}

),

pivoted as (

    select
        cast(
            max(case when assumptions.assumption = 'day_count' then assumptions.value end) as integer
        ) as day_count,
        cast(
            max(case when assumptions.assumption = 'default_ftp_tenor_months' then assumptions.value end)
            as integer
        ) as default_ftp_tenor_months,
        max(case when assumptions.assumption = 'capital_ratio' then assumptions.value end)
            as capital_ratio,
        max(case when assumptions.assumption = 'cost_of_equity' then assumptions.value end)
            as cost_of_equity,
        max(case when assumptions.assumption = 'card_interchange_rate' then assumptions.value end)
            as card_interchange_rate,
        max(case when assumptions.assumption = 'cost_per_call_minute' then assumptions.value end)
            as cost_per_call_minute,
        max(case when assumptions.assumption = 'cost_per_web_session' then assumptions.value end)
            as cost_per_web_session
    from assumptions

)

select * from pivoted
