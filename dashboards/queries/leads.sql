-- Every lead with its RM (null: the branch queue), for the RM lead list.
select
    l.lead_id,
    l.customer_key,
    coalesce(l.rm_id, '(branch queue)') as rm_id,
    l.branch_id,
    l.created_date,
    l.due_date,
    l.priority,
    l.reason,
    l.status,
    l.suppressed_reason,
    l.outcome
from marts.fct_leads as l
