with branches as (

    select * from {{ ref('int_branches_current') }}

),

final as (

    select
        branches.branch_id,
        branches.branch_name,
        branches.city,
        branches.region,
        branches.branch_type,
        branches.opened_date,
        branches.is_in_latest_snapshot
    from branches

)

select * from final
