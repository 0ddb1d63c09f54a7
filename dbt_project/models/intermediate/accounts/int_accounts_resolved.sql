-- Every account with what the facts need about it: the unified customer of its primary
-- holder and its product's family, type and balance side.
with accounts as (

    select * from {{ ref('int_accounts_current') }}

),

products as (

    select * from {{ ref('int_products_current') }}

),

customer_xref as (

    select * from {{ ref('int_customer_xref') }}
    where
        source_system = 'core_banking'
        and source_table = 'customers'

),

resolved as (

    select
        accounts.account_id,
        accounts.primary_customer_id,
        customer_xref.customer_key,
        accounts.product_code,
        products.product_family,
        products.product_type,
        products.balance_side,
        accounts.branch_id,
        accounts.rm_id,
        accounts.currency,
        accounts.open_date,
        accounts.maturity_date,
        accounts.close_date,
        accounts.status,
        accounts.interest_rate_pct,
        accounts.credit_limit,
        accounts.updated_at,
        accounts.snapshot_date as last_snapshot_date,
        accounts.is_in_latest_snapshot
    from accounts
    left join products
        on accounts.product_code = products.product_code
    left join customer_xref
        on accounts.primary_customer_id = customer_xref.source_key

)

select * from resolved
