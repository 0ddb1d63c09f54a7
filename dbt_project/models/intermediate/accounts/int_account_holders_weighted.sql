-- Every holder of every account (PRIMARY, JOINT, AUTHORIZED, GUARANTOR) as a unified
-- customer, with the allocation weight by which a measure summed by
-- customer shares the account (PRIMARY and JOINT equally, the others nothing). Weights sum
-- to exactly one per account: the first sharing holder (by customer_key) takes the rounding
-- remainder, so a joint account's balance is never counted twice nor lost in the last digit.
-- Two records of one customer holding the same account are one holder here.
with allocation_weights as (

    select * from {{ ref('int_account_allocation_weights') }}

),

per_customer as (

    select
        allocation_weights.account_id,
        allocation_weights.customer_key,
        -- the strongest role when a customer's records hold the account in several roles
        case min(
            case allocation_weights.role
                when 'PRIMARY' then 1 when 'JOINT' then 2 when 'AUTHORIZED' then 3 else 4
            end
        )
            when 1 then 'PRIMARY' when 2 then 'JOINT' when 3 then 'AUTHORIZED' else 'GUARANTOR'
        end as role,
        min(allocation_weights.customer_id) as customer_id,
        count(*) as n_source_records,
        sum(allocation_weights.allocation_weight) as raw_weight
    from allocation_weights
    where allocation_weights.customer_key is not null
    group by allocation_weights.account_id, allocation_weights.customer_key

),

ranked as (

    select
        per_customer.*,
        row_number() over (
            partition by per_customer.account_id
            order by per_customer.raw_weight > 0 desc, per_customer.customer_key
        ) as holder_rank,
        sum(per_customer.raw_weight) over (partition by per_customer.account_id) as account_weight
    from per_customer

),

final as (

    select
        ranked.account_id,
        ranked.customer_key,
        ranked.role,
        ranked.customer_id,
        ranked.n_source_records,
        cast(
            case
                when ranked.holder_rank = 1
                    then
                        1 - coalesce(
                            sum(cast(ranked.raw_weight as decimal(18, 10))) over (
                                partition by ranked.account_id
                                order by ranked.holder_rank
                                rows between 1 following and unbounded following
                            ),
                            0
                        )
                else ranked.raw_weight
            end as decimal(18, 10)
        ) as allocation_weight
    from ranked
    where ranked.account_weight > 0

)

select * from final
