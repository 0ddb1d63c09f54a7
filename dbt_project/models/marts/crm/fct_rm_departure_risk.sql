with departure_risk as (

    select * from {{ ref('int_rm_departure_risk') }}

),

final as (

    select
        departure_risk.rm_id,
        departure_risk.branch_id,
        departure_risk.departure_date,
        departure_risk.has_left,
        departure_risk.reference_date,
        departure_risk.n_customers,
        departure_risk.contribution_at_risk,
        departure_risk.aum_at_reference,
        departure_risk.aum_latest,
        departure_risk.n_still_with_rm,
        departure_risk.n_reassigned,
        departure_risk.n_unassigned,
        departure_risk.n_closed
    from departure_risk

)

select * from final
