-- Every customer-bearing source record and the unified customer it belongs to.
--   core_banking/customers: by int_customer_records_matched (NATIONAL_ID, OWN_RECORD)
--   online_banking/users:   through the core customer_id the login is linked to (LINKED_CUSTOMER_ID)
--   call_center/calls:      through the customer_id the caller authenticated in the IVR (IVR_CUSTOMER_ID)
-- Anything else (prospects, unauthenticated callers, links to unknown customer_ids) is
-- UNRESOLVED with a null customer_key: no guessing from phone numbers or names here.
with matched_customers as (

    select * from {{ ref('int_customer_records_matched') }}

),

web_users as (

    select * from {{ ref('int_web_users_current') }}

),

calls as (

    select * from {{ ref('stg_call_center__calls') }}

),

core_records as (

    select
        'core_banking' as source_system,
        'customers' as source_table,
        matched_customers.customer_id as source_key,
        matched_customers.customer_id as linked_customer_id,
        matched_customers.customer_key,
        matched_customers.match_rule
    from matched_customers

),

web_user_records as (

    select
        'online_banking' as source_system,
        'users' as source_table,
        web_users.user_id as source_key,
        web_users.customer_id as linked_customer_id,
        matched_customers.customer_key,
        case
            when matched_customers.customer_key is not null then 'LINKED_CUSTOMER_ID'
            else 'UNRESOLVED'
        end as match_rule
    from web_users
    left join matched_customers
        on web_users.customer_id = matched_customers.customer_id

),

call_records as (

    select
        'call_center' as source_system,
        'calls' as source_table,
        calls.call_id as source_key,
        calls.customer_id as linked_customer_id,
        matched_customers.customer_key,
        case
            when matched_customers.customer_key is not null then 'IVR_CUSTOMER_ID'
            else 'UNRESOLVED'
        end as match_rule
    from calls
    left join matched_customers
        on calls.customer_id = matched_customers.customer_id

),

unioned as (

    select * from core_records
    union all
    select * from web_user_records
    union all
    select * from call_records

)

select * from unioned
