-- Every core customer record's last known state with its identifying attributes normalised:
-- national id without spaces/dashes/dots in upper case, phone in E.164 (numbers without a
-- country code read in the phone_region setting), e-mail without white space in lower case,
-- name and address case- and accent-folded. The records identity resolution resolved: read
-- by the pipeline's resolve step from the lake and normalised there (models/identity/records.py),
-- so that the records matched and these are the same rows (source `identity`).
with customer_records as (

    select * from {{ source('identity', 'customer_records') }}

),

final as (

    select
        cast(customer_records.customer_id as {{ string_type() }}) as customer_id,
        cast(customer_records.customer_type as {{ string_type() }}) as customer_type,
        cast(customer_records.national_id as {{ string_type() }}) as national_id,
        cast(customer_records.name_fold as {{ string_type() }}) as name_fold,
        cast(customer_records.birth_date as date) as birth_date,
        cast(customer_records.gender as {{ string_type() }}) as gender,
        cast(customer_records.phone_e164 as {{ string_type() }}) as phone_e164,
        cast(customer_records.email as {{ string_type() }}) as email,
        cast(customer_records.address_fold as {{ string_type() }}) as address_fold,
        cast(customer_records.postal_code as {{ string_type() }}) as postal_code,
        cast(customer_records.updated_at as {{ timestamptz_type() }}) as updated_at,
        cast(customer_records.snapshot_date as date) as snapshot_date
    from customer_records

)

select * from final
