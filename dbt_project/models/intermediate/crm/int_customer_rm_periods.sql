-- Who looks after a customer, and when: the customer history's rm_id (int_customer_versions)
-- collapsed into periods of one RM (versions that change another attribute but keep the RM
-- are one period). valid_to is exclusive and null while it lasts. credit_share is the RM's
-- share of the customer's figures in the scorecards: the feeds name one RM per customer
-- (customers.rm_id), who keeps the whole credit, 1, unless a team the RM belongs to shares
-- its customers' credit (setting rm_team_credit_shares, var rm_credit_rules: every such RM's
-- timeline, macros/rm_teams.sql). Then the period is cut where the RM's rules change and each
-- piece credits every member at their share. The shares of a customer's piece add up to 1
-- (bridge_customer_relationship_manager's test).

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

rules as (

    {{ rm_credit_rules() }}

),

final as (

    select
        periods.customer_key,
        coalesce(rules.credited_rm_id, periods.rm_id) as rm_id,
        case
            when rules.valid_from > periods.valid_from then rules.valid_from
            else periods.valid_from
        end as valid_from,
        case
            when rules.valid_to is null then periods.valid_to
            when periods.valid_to is null or rules.valid_to < periods.valid_to then rules.valid_to
            else periods.valid_to
        end as valid_to,
        coalesce(rules.credit_share, cast(1 as decimal(5, 4))) as credit_share
    from periods
    -- an RM with rules has a timeline over all time: each piece of the period meets one of its
    -- periods, a row per member credited then
    left join rules
        on
            periods.rm_id = rules.rm_id
            and (periods.valid_to is null or rules.valid_from is null or periods.valid_to > rules.valid_from)
            and (rules.valid_to is null or periods.valid_from < rules.valid_to)
    where periods.rm_id is not null

)

select * from final
