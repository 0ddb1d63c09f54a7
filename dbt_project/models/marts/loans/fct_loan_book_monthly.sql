-- The loan book at every month end: each loan's outstanding principal, classification and
-- required provision, the provision it carried in, write-offs and the month's credit cost
-- (int_account_provisions_monthly). A loan that left the book appears once more, in the
-- month its provision is released (is_on_book false).
with provisions as (

    select * from {{ ref('int_account_provisions_monthly') }}

),

accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

final as (

    select
        provisions.month_start,
        provisions.month_end_date,
        provisions.account_id,
        accounts.customer_key,
        accounts.product_code,
        accounts.branch_id,
        provisions.is_on_book,
        cast(coalesce(provisions.outstanding_principal, 0) as decimal(18, 2)) as outstanding_principal,
        provisions.days_past_due,
        provisions.classification,
        cast(provisions.provision_rate as decimal(18, 6)) as provision_rate,
        cast(provisions.required_provision as decimal(18, 2)) as required_provision,
        cast(provisions.opening_provision as decimal(18, 2)) as opening_provision,
        cast(provisions.write_off as decimal(18, 2)) as write_off,
        cast(provisions.credit_cost as decimal(18, 2)) as credit_cost
    from provisions
    left join accounts
        on provisions.account_id = accounts.account_id

)

select * from final
