-- The account-party bridge: every holder of every account as a unified customer, with the
-- allocation weight by which a measure summed by customer shares the account
-- (int_account_holders_weighted: PRIMARY and JOINT equally, the others nothing; the
-- weights of an account sum to exactly one).
with account_holders as (

    select * from {{ ref('int_account_holders_weighted') }}

),

final as (

    select
        account_holders.account_id,
        account_holders.customer_key,
        account_holders.role,
        account_holders.customer_id,
        account_holders.n_source_records,
        account_holders.allocation_weight
    from account_holders

)

select * from final
