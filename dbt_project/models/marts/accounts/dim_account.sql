with accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

final as (

    select
        accounts.account_id,
        accounts.customer_key,
        accounts.primary_customer_id,
        accounts.product_code,
        accounts.product_family,
        accounts.product_type,
        accounts.balance_side,
        accounts.branch_id,
        accounts.rm_id,
        accounts.currency,
        accounts.open_date,
        accounts.maturity_date,
        accounts.close_date,
        accounts.status,
        accounts.interest_rate_pct,
        accounts.credit_limit,
        accounts.last_snapshot_date,
        accounts.is_in_latest_snapshot
    from accounts

)

select * from final
