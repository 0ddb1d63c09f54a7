-- People known only from the online-banking platform or the contact centre, never as a
-- customer (the pyramid's suspects): web users and calls that identity resolution left
-- UNRESOLVED (int_customer_xref: no customer record, no learned number; AMBIGUOUS records
-- point to customers and are left out). One prospect per phone number (E.164) shared by
-- such web users and calls, else one per web user; calls without a usable number are no
-- one. prospect_id: md5 of 'prospect/phone/<e164>' or 'prospect/user/<user_id>'.
with customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where match_rule = 'UNRESOLVED'

),

web_users as (

    select * from {{ ref('int_web_users_current') }}

),

sessions as (

    select * from {{ ref('int_web_sessions_keyed') }}

),

calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

unresolved_users as (

    select
        web_users.user_id,
        bankdw_phone_e164(web_users.phone) as phone_e164,
        cast(web_users.registered_at as date) as registered_date
    from web_users
    inner join customer_xref
        on
            customer_xref.source_table = 'users'
            and web_users.user_id = customer_xref.source_key

),

user_sessions as (

    select
        sessions.user_id,
        count(*) as n_sessions,
        min(sessions.session_date) as first_session_date,
        max(sessions.session_date) as last_session_date
    from sessions
    inner join unresolved_users
        on sessions.user_id = unresolved_users.user_id
    group by sessions.user_id

),

web_sightings as (

    select
        coalesce('phone/' || unresolved_users.phone_e164, 'user/' || unresolved_users.user_id)
            as prospect_name,
        'WEB' as channel,
        least(unresolved_users.registered_date, user_sessions.first_session_date) as first_seen,
        greatest(unresolved_users.registered_date, user_sessions.last_session_date) as last_seen,
        1 as n_web_users,
        coalesce(user_sessions.n_sessions, 0) as n_sessions,
        0 as n_calls
    from unresolved_users
    left join user_sessions
        on unresolved_users.user_id = user_sessions.user_id

),

call_sightings as (

    select
        'phone/' || bankdw_phone_e164(calls.caller_number) as prospect_name,
        'CALL' as channel,
        cast(calls.started_at as date) as first_seen,
        cast(calls.started_at as date) as last_seen,
        0 as n_web_users,
        0 as n_sessions,
        1 as n_calls
    from calls
    inner join customer_xref
        on
            customer_xref.source_table = 'calls'
            and calls.call_id = customer_xref.source_key
    where bankdw_phone_e164(calls.caller_number) is not null

),

sightings as (

    select * from web_sightings
    union all
    select * from call_sightings

),

final as (

    select
        md5('prospect/' || sightings.prospect_name) as prospect_id,
        min(sightings.first_seen) as first_seen,
        max(sightings.last_seen) as last_seen,
        case
            when count(distinct sightings.channel) = 2 then 'WEB_AND_CALL'
            else min(sightings.channel)
        end as seen_by,
        cast(sum(sightings.n_web_users) as bigint) as n_web_users,
        cast(sum(sightings.n_sessions) as bigint) as n_web_sessions,
        cast(sum(sightings.n_calls) as bigint) as n_calls
    from sightings
    group by sightings.prospect_name

)

select * from final
