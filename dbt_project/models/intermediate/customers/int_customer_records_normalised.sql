-- Every core customer record's last known state with its identifying attributes normalised
-- by the UDFs of the dbt-duckdb plugin models/identity_plugin.py (profiles.yml `plugins:`):
-- national id without spaces/dashes/dots in upper case, phone in E.164 (numbers without a
-- country code read in the phone_region setting), e-mail without white space in lower case,
-- name and address case- and accent-folded. The input of identity resolution.
with customers as (

    select * from {{ ref('int_customers_current') }}

),

final as (

    select
        customers.customer_id,
        customers.customer_type,
        bankdw_national_id(customers.national_id) as national_id,
        bankdw_name_fold(customers.full_name) as name_fold,
        customers.birth_date,
        customers.gender,
        bankdw_phone_e164(customers.phone) as phone_e164,
        bankdw_email(customers.email) as email,
        bankdw_name_fold(customers.address) as address_fold,
        nullif(trim(customers.postal_code), '') as postal_code,
        customers.updated_at,
        customers.snapshot_date
    from customers

)

select * from final
