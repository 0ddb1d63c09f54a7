-- The service costs no account carries, one row per month and channel (CALL, WEB_SESSION):
-- contacts no customer could be attributed to, and contacts of customers who were primary
-- holder of no account on book that month, beside the channel's whole cost and what the
-- accounts carry (int_service_costs_unallocated_monthly). The bank's operating cost is
-- fct_bank_profitability_monthly.operating_cost plus this pool's unallocated_cost.
with pools as (

    select * from {{ ref('int_service_costs_unallocated_monthly') }}

),

final as (

    select
        pools.month_start,
        pools.channel,
        pools.n_contacts,
        pools.volume,
        pools.total_cost,
        pools.allocated_cost,
        pools.unattributed_cost,
        pools.no_account_cost,
        pools.unallocated_cost
    from pools

)

select * from final
