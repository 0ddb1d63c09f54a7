-- How an account's balance is shared among its holders when a measure is summed by
-- customer: PRIMARY and JOINT holders share equally, AUTHORIZED users and GUARANTORS carry
-- no share, and the weights of an account sum to one.
-- If the parties snapshot lists no PRIMARY for an account, the primary holder named on the
-- account record is added, so that no account is left without a holder to carry it.
with accounts as (

    select * from {{ ref('int_accounts_current') }}

),

account_parties as (

    select * from {{ ref('int_account_parties_current') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where
        source_system = 'core_banking'
        and source_table = 'customers'

),

primary_holders_missing_from_parties as (

    select
        accounts.account_id,
        accounts.primary_customer_id as customer_id,
        'PRIMARY' as role,
        'ACCOUNT_RECORD' as holder_source
    from accounts
    where
        not exists (
            select account_parties.account_id
            from account_parties
            where
                account_parties.account_id = accounts.account_id
                and (
                    account_parties.role = 'PRIMARY'
                    or account_parties.customer_id = accounts.primary_customer_id
                )
        )

),

holders as (

    select
        account_parties.account_id,
        account_parties.customer_id,
        account_parties.role,
        'ACCOUNT_PARTIES' as holder_source
    from account_parties

    union all

    select
        primary_holders_missing_from_parties.account_id,
        primary_holders_missing_from_parties.customer_id,
        primary_holders_missing_from_parties.role,
        primary_holders_missing_from_parties.holder_source
    from primary_holders_missing_from_parties

),

weighted as (

    select
        holders.account_id,
        holders.customer_id,
        customer_xref.customer_key,
        holders.role,
        holders.holder_source,
        holders.role in ('PRIMARY', 'JOINT') as is_sharing_holder,
        count(*) filter (where holders.role in ('PRIMARY', 'JOINT'))
            over (partition by holders.account_id) as n_sharing_holders
    from holders
    left join customer_xref
        on holders.customer_id = customer_xref.source_key

),

final as (

    select
        weighted.account_id,
        weighted.customer_id,
        weighted.customer_key,
        weighted.role,
        weighted.holder_source,
        cast(
            case
                when weighted.is_sharing_holder then 1.0 / weighted.n_sharing_holders
                else 0
            end as decimal(18, 10)
        ) as allocation_weight
    from weighted

)

select * from final
