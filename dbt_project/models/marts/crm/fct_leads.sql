-- The leads of int_leads, without the candidates it keeps while they wait for their RM.
with leads as (

    select * from {{ ref('int_leads') }}

),

final as (

    select
        leads.lead_id,
        leads.customer_key,
        leads.rm_id,
        leads.branch_id,
        leads.created_date,
        leads.due_date,
        leads.priority,
        leads.reason,
        leads.status,
        leads.suppressed_reason,
        leads.outcome_date,
        leads.outcome
    from leads
    where leads.status <> 'WAITING'

)

select * from final
