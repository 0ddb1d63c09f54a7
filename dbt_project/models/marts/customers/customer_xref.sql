with customer_xref as (

    select * from {{ ref('int_customer_xref') }}

),

final as (

    select
        customer_xref.source_system,
        customer_xref.source_table,
        customer_xref.source_key,
        customer_xref.customer_key,
        customer_xref.match_rule,
        customer_xref.linked_customer_id,
        customer_xref.matched_customer_id,
        cast(customer_xref.match_probability as decimal(7, 6)) as match_probability,
        customer_xref.n_candidates
    from customer_xref

)

select * from final
