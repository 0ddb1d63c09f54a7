-- First-cut identity resolution of the core system's customer records.
--
-- Records of the same customer_type that share a national id (compared without spaces,
-- dashes or case) are one customer; a record without a national id (legacy records) is a
-- customer of its own. customer_key is the md5 of the group's smallest customer_id.
--
-- Known limitation, to be replaced in a later issue by a stable-key algorithm: the key
-- changes if a record with a smaller customer_id joins an existing group, or if the record
-- whose id made the key leaves it. No fuzzy matching (names, phones, e-mails) is done here.
with customers as (

    select * from {{ ref('int_customers_current') }}

),

normalised as (

    select
        customers.customer_id,
        customers.customer_type,
        nullif(upper(regexp_replace(customers.national_id, '[\s\-]', '', 'g')), '') as national_id_normalised
    from customers

),

grouped as (

    select
        normalised.customer_id,
        normalised.customer_type,
        normalised.national_id_normalised,
        case
            when normalised.national_id_normalised is null then normalised.customer_id
            else min(normalised.customer_id) over (
                    partition by normalised.customer_type, normalised.national_id_normalised
                )
        end as anchor_customer_id,
        case
            when normalised.national_id_normalised is null then 'OWN_RECORD'
            else 'NATIONAL_ID'
        end as match_rule
    from normalised

),

final as (

    select
        grouped.customer_id,
        md5('core_banking/customers/' || grouped.anchor_customer_id) as customer_key,
        grouped.anchor_customer_id,
        grouped.match_rule,
        count(*) over (partition by grouped.anchor_customer_id) as n_source_records
    from grouped

)

select * from final
