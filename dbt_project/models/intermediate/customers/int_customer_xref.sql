-- Every customer-bearing source record and the unified customer it belongs to, with the rule
-- that placed it (docs/identity.md):
--   core_banking/customers: int_customer_identity (NATIONAL_ID, NAME_BIRTH_PHONE,
--       NAME_BIRTH_EMAIL, PROBABILISTIC, OWN_RECORD, OWN_RECORD_AMBIGUOUS)
--   online_banking/users: LINKED_CUSTOMER_ID when its customer_id is a core record; else
--       the customers whose records hold its e-mail or phone: exactly one -> UNIQUE_EMAIL
--       (the e-mail matched) or UNIQUE_PHONE; several -> AMBIGUOUS; none -> UNRESOLVED
--   call_center/calls: IVR_CUSTOMER_ID when the IVR authenticated a core record; else the
--       customers whose records hold the caller number: exactly one -> UNIQUE_CALLER_NUMBER;
--       several -> AMBIGUOUS; none: the customers that IVR-authenticated calls from that
--       number named (a work phone, a new mobile the records lack): exactly one ->
--       LEARNED_CALLER_NUMBER, several -> AMBIGUOUS; none (or no number) -> UNRESOLVED
-- AMBIGUOUS and UNRESOLVED records have no customer_key: they are counted, never guessed.
with identity as (

    select * from {{ ref('int_customer_identity') }}

),

core_records as (

    select * from {{ ref('int_customer_records_normalised') }}

),

web_users as (

    select * from {{ ref('int_web_users_current') }}

),

calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

customer_phones as (

    select distinct
        core_records.phone_e164,
        identity.customer_key
    from core_records
    inner join identity
        on core_records.customer_id = identity.customer_id
    where core_records.phone_e164 is not null

),

customer_emails as (

    select distinct
        core_records.email,
        identity.customer_key
    from core_records
    inner join identity
        on core_records.customer_id = identity.customer_id
    where core_records.email is not null

),

core_xref as (

    select
        'core_banking' as source_system,
        'customers' as source_table,
        identity.customer_id as source_key,
        identity.customer_id as linked_customer_id,
        identity.customer_key,
        identity.match_rule,
        identity.matched_customer_id,
        identity.match_probability,
        cast(
            case identity.match_rule
                when 'OWN_RECORD' then 0
                when 'OWN_RECORD_AMBIGUOUS' then identity.n_candidates
                else 1
            end as bigint
        ) as n_candidates
    from identity

),

web_users_normalised as (

    select
        web_users.user_id,
        web_users.customer_id,
        bankdw_email(web_users.email) as email,
        bankdw_phone_e164(web_users.phone) as phone_e164
    from web_users

),

web_user_candidates as (

    select
        web_users_normalised.user_id,
        customer_emails.customer_key,
        true as by_email
    from web_users_normalised
    inner join customer_emails
        on web_users_normalised.email = customer_emails.email

    union all

    select
        web_users_normalised.user_id,
        customer_phones.customer_key,
        false as by_email
    from web_users_normalised
    inner join customer_phones
        on web_users_normalised.phone_e164 = customer_phones.phone_e164

),

web_user_matches as (

    select
        web_user_candidates.user_id,
        count(distinct web_user_candidates.customer_key) as n_candidates,
        min(web_user_candidates.customer_key) as customer_key,
        bool_or(web_user_candidates.by_email) as by_email
    from web_user_candidates
    group by web_user_candidates.user_id

),

web_xref as (

    select
        'online_banking' as source_system,
        'users' as source_table,
        web_users_normalised.user_id as source_key,
        web_users_normalised.customer_id as linked_customer_id,
        case
            when identity.customer_key is not null then identity.customer_key
            when web_user_matches.n_candidates = 1 then web_user_matches.customer_key
        end as customer_key,
        case
            when identity.customer_key is not null then 'LINKED_CUSTOMER_ID'
            when web_user_matches.n_candidates = 1 and web_user_matches.by_email then 'UNIQUE_EMAIL'
            when web_user_matches.n_candidates = 1 then 'UNIQUE_PHONE'
            when web_user_matches.n_candidates > 1 then 'AMBIGUOUS'
            else 'UNRESOLVED'
        end as match_rule,
        identity.customer_id as matched_customer_id,
        cast(null as double) as match_probability,
        case
            when identity.customer_key is not null then 1
            else coalesce(web_user_matches.n_candidates, 0)
        end as n_candidates
    from web_users_normalised
    left join identity
        on web_users_normalised.customer_id = identity.customer_id
    left join web_user_matches
        on web_users_normalised.user_id = web_user_matches.user_id

),

call_numbers as (

    select
        numbers.caller_number,
        bankdw_phone_e164(numbers.caller_number) as phone_e164
    from (
        select distinct calls.caller_number
        from calls
        where calls.caller_number is not null
    ) as numbers

),

call_number_matches as (

    select
        call_numbers.caller_number,
        count(distinct customer_phones.customer_key) as n_candidates,
        min(customer_phones.customer_key) as customer_key
    from call_numbers
    inner join customer_phones
        on call_numbers.phone_e164 = customer_phones.phone_e164
    group by call_numbers.caller_number

),

-- A number no customer record holds is learned from the calls the IVR authenticated: the
-- customers they named, over every call the lake holds (so a build's answer does not depend on
-- which night the authenticated call arrived). Numbers some record holds are left to the
-- records: a record is the customer's own statement, a call only where it came from.
learned_numbers as (

    select
        call_numbers.phone_e164,
        count(distinct identity.customer_key) as n_candidates,
        min(identity.customer_key) as customer_key,
        min(identity.customer_id) as matched_customer_id
    from calls
    inner join identity
        on calls.customer_id = identity.customer_id
    inner join call_numbers
        on calls.caller_number = call_numbers.caller_number
    where
        call_numbers.phone_e164 is not null
        and call_numbers.phone_e164 not in (select customer_phones.phone_e164 from customer_phones)
    group by call_numbers.phone_e164

),

call_learned_matches as (

    select
        call_numbers.caller_number,
        learned_numbers.n_candidates,
        learned_numbers.customer_key,
        learned_numbers.matched_customer_id
    from call_numbers
    inner join learned_numbers
        on call_numbers.phone_e164 = learned_numbers.phone_e164

),

call_xref as (

    select
        'call_center' as source_system,
        'calls' as source_table,
        calls.call_id as source_key,
        calls.customer_id as linked_customer_id,
        case
            when identity.customer_key is not null then identity.customer_key
            when call_number_matches.n_candidates = 1 then call_number_matches.customer_key
            when call_number_matches.n_candidates is null and call_learned_matches.n_candidates = 1
                then call_learned_matches.customer_key
        end as customer_key,
        case
            when identity.customer_key is not null then 'IVR_CUSTOMER_ID'
            when call_number_matches.n_candidates = 1 then 'UNIQUE_CALLER_NUMBER'
            when call_number_matches.n_candidates > 1 then 'AMBIGUOUS'
            when call_learned_matches.n_candidates = 1 then 'LEARNED_CALLER_NUMBER'
            when call_learned_matches.n_candidates > 1 then 'AMBIGUOUS'
            else 'UNRESOLVED'
        end as match_rule,
        case
            when identity.customer_key is not null then identity.customer_id
            when call_number_matches.n_candidates is null and call_learned_matches.n_candidates = 1
                then call_learned_matches.matched_customer_id
        end as matched_customer_id,
        cast(null as double) as match_probability,
        case
            when identity.customer_key is not null then 1
            else coalesce(call_number_matches.n_candidates, call_learned_matches.n_candidates, 0)
        end as n_candidates
    from calls
    left join identity
        on calls.customer_id = identity.customer_id
    left join call_number_matches
        on calls.caller_number = call_number_matches.caller_number
    left join call_learned_matches
        on calls.caller_number = call_learned_matches.caller_number

),

unioned as (

    select * from core_xref
    union all
    select * from web_xref
    union all
    select * from call_xref

)

select * from unioned
