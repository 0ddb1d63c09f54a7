-- A failure means a customer carries a share of an account that its holdings do not give it:
-- the shares of PRIMARY and JOINT holders must be equal (a customer holding the account
-- through several records counts each record), and AUTHORIZED users and GUARANTORS carry
-- nothing. A wrong share moves deposits and loans between customers in customer_360 even
-- when each account still adds up to one, so RMs would see balances their customers do not
-- hold. The expected share is recomputed from the holder records; the only difference
-- allowed is the rounding step of the weights (1e-10) once per holder, the remainder the
-- first holder takes.
with bridge as (

    select * from {{ ref('bridge_account_customer') }}

),

holder_records as (

    select * from {{ ref('int_account_allocation_weights') }}

),

records_per_customer as (

    select
        holder_records.account_id,
        holder_records.customer_key,
        count(*) filter (where holder_records.role in ('PRIMARY', 'JOINT')) as n_sharing_records
    from holder_records
    where holder_records.customer_key is not null
    group by holder_records.account_id, holder_records.customer_key

),

expected as (

    select
        records_per_customer.account_id,
        records_per_customer.customer_key,
        records_per_customer.n_sharing_records
        / sum(records_per_customer.n_sharing_records) over (partition by records_per_customer.account_id)
            as expected_weight,
        count(*) over (partition by records_per_customer.account_id) as n_holders
    from records_per_customer

)

select
    expected.account_id,
    expected.customer_key,
    expected.expected_weight,
    bridge.allocation_weight
from expected
left join bridge
    on
        expected.account_id = bridge.account_id
        and expected.customer_key = bridge.customer_key
where
    bridge.allocation_weight is null and expected.expected_weight > 0
    or abs(coalesce(bridge.allocation_weight, 0) - expected.expected_weight) > expected.n_holders * 1e-10
