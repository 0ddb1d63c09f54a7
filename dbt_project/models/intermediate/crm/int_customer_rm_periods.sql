-- Who looks after a customer, and when: the customer history's rm_id (int_customer_versions)
-- collapsed into periods of one RM (versions that change another attribute but keep the RM
-- are one period). valid_to is exclusive and null while it lasts. credit_share is the RM's
-- share of the customer's figures in the scorecards: the feeds name one RM per customer
-- (customers.rm_id), so a period gives its RM the whole credit, 1; the shares of a customer
-- on a day add up to 1 (tested), ready for RM teams when a feed names them.

with versions as (

    select * from {{ ref('int_customer_versions') }}

),

with_previous as (

    select
        versions.customer_key,
        versions.rm_id,
        versions.valid_from,
        versions.valid_to,
        lag(versions.rm_id) over (
            partition by versions.customer_key order by versions.valid_from
        ) as previous_rm_id,
        row_number() over (
            partition by versions.customer_key order by versions.valid_from
        ) as version_order
    from versions

),

changes as (

    select
        with_previous.*,
        case
            when with_previous.version_order > 1
                and coalesce(with_previous.rm_id, '') = coalesce(with_previous.previous_rm_id, '')
                then 0
            else 1
        end as starts_period
    from with_previous

),

numbered as (

    select
        changes.*,
        sum(changes.starts_period) over (
            partition by changes.customer_key order by changes.valid_from
        ) as period_number
    from changes

),

periods as (

    select
        numbered.customer_key,
        numbered.rm_id,
        min(numbered.valid_from) as valid_from,
        case when count(*) = count(numbered.valid_to) then max(numbered.valid_to) end as valid_to
    from numbered
    group by numbered.customer_key, numbered.rm_id, numbered.period_number

),

final as (

    select
        periods.customer_key,
        periods.rm_id,
        periods.valid_from,
        periods.valid_to,
        cast(1 as decimal(5, 4)) as credit_share
    from periods
    where periods.rm_id is not null

)

select * from final
