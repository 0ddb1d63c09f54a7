with scorecard as (

    select * from {{ ref('int_rm_scorecard_monthly') }}

),

final as (

    select
        scorecard.month_start,
        scorecard.rm_id,
        scorecard.branch_id,
        scorecard.region,
        scorecard.n_customers,
        scorecard.aum,
        scorecard.loans,
        scorecard.contribution,
        scorecard.contribution_last_year,
        scorecard.contribution_growth,
        scorecard.n_new_customers,
        scorecard.n_lost_customers,
        scorecard.leads_assigned,
        scorecard.leads_contacted,
        scorecard.leads_converted,
        scorecard.conversion_rate,
        scorecard.avg_days_to_contact,
        scorecard.rank_in_branch,
        scorecard.rank_in_region
    from scorecard

)

select * from final
