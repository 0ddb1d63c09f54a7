-- Pairs of individual customers the data says live together: the same normalised address
-- (folded street address and postal code), the same phone number (a home's landline or a
-- shared mobile, E.164), or PRIMARY/JOINT holders of the same account. An address or phone
-- shared by more than var('household_max_members') customers is a building, an office or a
-- switchboard, not a home, and links nobody. Corporates are never in a household.
-- shared_value names what the pair shares (the folded address and postal code, the phone, the
-- account): a household's key is made from it (int_customer_households).
with identity as (

    select * from {{ ref('int_customer_identity') }}

),

records as (

    select * from {{ ref('int_customer_records_normalised') }}

),

allocation as (

    select * from {{ ref('int_account_allocation_weights') }}
    where customer_key is not null

),

addresses as (

    select distinct
        identity.customer_key,
        records.address_fold,
        records.postal_code
    from records
    inner join identity
        on records.customer_id = identity.customer_id
    where
        records.customer_type = 'INDIVIDUAL'
        and records.address_fold is not null
        and records.postal_code is not null

),

home_addresses as (

    select addresses.*
    from addresses
    qualify
        count(*) over (partition by addresses.address_fold, addresses.postal_code)
        between 2 and {{ var('household_max_members') }}

),

address_links as (

    select
        left_side.customer_key as customer_key_a,
        right_side.customer_key as customer_key_b,
        'SHARED_ADDRESS' as link_type,
        left_side.address_fold || '/' || left_side.postal_code as shared_value
    from home_addresses as left_side
    inner join home_addresses as right_side
        on
            left_side.address_fold = right_side.address_fold
            and left_side.postal_code = right_side.postal_code
            and left_side.customer_key < right_side.customer_key

),

phones as (

    select distinct
        identity.customer_key,
        records.phone_e164
    from records
    inner join identity
        on records.customer_id = identity.customer_id
    where records.customer_type = 'INDIVIDUAL' and records.phone_e164 is not null

),

home_phones as (

    select phones.*
    from phones
    qualify count(*) over (partition by phones.phone_e164) between 2 and {{ var('household_max_members') }}

),

phone_links as (

    select
        left_side.customer_key as customer_key_a,
        right_side.customer_key as customer_key_b,
        'SHARED_PHONE' as link_type,
        left_side.phone_e164 as shared_value
    from home_phones as left_side
    inner join home_phones as right_side
        on
            left_side.phone_e164 = right_side.phone_e164
            and left_side.customer_key < right_side.customer_key

),

individual_holders as (

    select distinct
        allocation.account_id,
        allocation.customer_key
    from allocation
    inner join identity
        on allocation.customer_key = identity.customer_key
    inner join records
        on identity.customer_id = records.customer_id
    where allocation.role in ('PRIMARY', 'JOINT') and records.customer_type = 'INDIVIDUAL'

),

joint_links as (

    select distinct
        left_side.customer_key as customer_key_a,
        right_side.customer_key as customer_key_b,
        'JOINT_ACCOUNT' as link_type,
        left_side.account_id as shared_value
    from individual_holders as left_side
    inner join individual_holders as right_side
        on
            left_side.account_id = right_side.account_id
            and left_side.customer_key < right_side.customer_key

),

final as (

    select * from address_links
    union all
    select * from phone_links
    union all
    select * from joint_links

)

select * from final
