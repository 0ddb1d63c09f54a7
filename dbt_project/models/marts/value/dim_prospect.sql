-- One row per person known only from online banking or the contact centre, never as a
-- customer: the pyramid's suspects (int_prospects gives the rule).
with prospects as (

    select * from {{ ref('int_prospects') }}

),

final as (

    select
        prospects.prospect_id,
        prospects.first_seen,
        prospects.last_seen,
        prospects.seen_by,
        prospects.n_web_users,
        prospects.n_web_sessions,
        prospects.n_calls
    from prospects

)

select * from final
