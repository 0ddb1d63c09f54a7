with relationship_managers as (

    select * from {{ ref('int_relationship_managers_current') }}

),

final as (

    select
        relationship_managers.rm_id,
        relationship_managers.full_name,
        relationship_managers.branch_id,
        relationship_managers.team_id,
        relationship_managers.grade,
        relationship_managers.hire_date,
        relationship_managers.leave_date,
        relationship_managers.is_in_latest_snapshot
    from relationship_managers

)

select * from final
