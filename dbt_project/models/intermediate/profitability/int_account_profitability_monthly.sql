-- Monthly profitability of every account (income and cost both positive):
--   net_interest_income  FTP margin on the daily balance (int_account_interest_monthly:
--                        curve, matched maturity or behavioural strips, day count)
--   interest_income,     the customer's own interest on assets / on liabilities (balance x
--   interest_expense     customer rate), what the ledger books; not part of contribution
--   fee_income           FEE postings not reversed (to the cent of the ledger)
--   other_income         card interchange imputed on CARD_PURCHASE postings not reversed
--   operating_cost       posting_cost (postings x unit cost of their channel)
--                        + service_cost (the primary holder's call minutes and web sessions,
--                          split over their accounts by balance share) + maintenance_cost (product family's
--                        monthly cost, pro rata of days on book)
--   credit_cost          change of the required loan-loss provision + write-offs
--   capital_charge       allocated_capital (risk-weighted assets x capital ratio) x cost of
--                        equity / 12, pro rata of days on book
--   contribution         = nii + fee_income + other_income - operating_cost - credit_cost
--   economic_profit      = contribution - capital_charge
-- Every component is rounded to the cent before contribution is formed, so the identities
-- hold exactly. Assumptions are in the seeds (docs/profitability.md).
-- The account mart and every roll-up (customer, product, branch, RM, segment, bank) read
-- this model, so they add up the same figures.
--
-- Incremental by month (macros/incremental.sql, strategy replace_tail), rows equal to a full
-- refresh's: a night builds every account's months from the night's restart, the earliest of
--   - the restart of what int_account_interest_monthly and int_account_postings_monthly
--     (incremental by month themselves) wrote since this table's watermarks
--     (interest_load_id, postings_load_id): the latest rebuilt_from of their new rows;
--   - the earliest month whose is_complete_month the data coverage (first and last balance
--     date of the whole history) changes;
-- and, from an earlier month, every account that those two wrote from an earlier month, or
-- whose provisions or service costs (tables rebuilt whole) of a month before the restart
-- differ from what its row holds, and every month of an account whose current attributes
-- (customer, product, branch, RM: `account_fingerprint`) are not those its rows were built
-- with, as a full refresh applies today's attributes to every month. A change of the seeds
-- (costs, risk weights, assumptions) is a change of the project: a full refresh.
{#- On Spark partitioned by month_start (incremental_by_tail, macros/engines.sql), and the night's
    restart and rebuilt_accounts computed once (computed_once, macros/engines.sql). The columns of
    the final select, in its order: the markers (replace_tail_markers) name them. -#}
{%- set output_columns = [
    'month_start', 'account_id', 'customer_key', 'product_code', 'product_family', 'product_type',
    'balance_side', 'branch_id', 'rm_id', 'is_complete_month', 'n_days_on_book', 'n_postings',
    'avg_balance', 'customer_rate_pct', 'ftp_rate_pct', 'risk_weighted_assets',
    'allocated_capital', 'required_provision', 'write_off', 'interest_income', 'interest_expense',
    'net_interest_income', 'fee_income', 'other_income', 'posting_cost', 'service_cost',
    'maintenance_cost', 'operating_cost', 'credit_cost', 'contribution', 'capital_charge',
    'account_fingerprint', 'rebuilt_from', 'interest_load_id', 'postings_load_id', 'built_in_run',
    'economic_profit',
] %}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        **incremental_by_tail('account_id', 'month_start'),
    )
}}

with {% call computed_once(['restart', 'rebuilt_accounts']) -%}
accounts as (

    select * from {{ ref('int_accounts_resolved') }}

),

customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

),

all_interest as (

    select * from {{ ref('int_account_interest_monthly') }}

),

all_postings as (

    select * from {{ ref('int_account_postings_monthly') }}

),

all_provisions as (

    select * from {{ ref('int_account_provisions_monthly') }}

),

all_service_costs as (

    select * from {{ ref('int_account_service_costs_monthly') }}

),

-- what a full refresh gives every month of an account: its current attributes
account_attributes as (

    select
        accounts.account_id,
        md5(
            concat_ws(
                '|',
                coalesce(accounts.customer_key, '~'),
                coalesce(accounts.product_code, '~'),
                coalesce(accounts.product_family, '~'),
                coalesce(accounts.product_type, '~'),
                coalesce(accounts.balance_side, '~'),
                coalesce(accounts.branch_id, '~'),
                coalesce(accounts.rm_id, customers.rm_id, '~')
            )
        ) as account_fingerprint
    from accounts
    left join customers
        on accounts.customer_key = customers.customer_key

),

data_coverage as (

    select
        min(all_interest.first_balance_date) as first_balance_date,
        max(all_interest.last_balance_date) as last_balance_date
    from all_interest

),

{% if is_incremental() %}
    watermarks_before as (

        select
            coalesce(max(kept.interest_load_id), '') as interest_load_id,
            coalesce(max(kept.postings_load_id), '') as postings_load_id
        from {{ this }} as kept

    ),

    -- the rows the two incremental inputs wrote since this table read them
    written as (

        select
            'interest' as input_model,
            all_interest.account_id,
            all_interest.rebuilt_from
        from all_interest
        where all_interest.as_of_load_id > (select watermarks_before.interest_load_id from watermarks_before)

        union all

        select
            'postings' as input_model,
            all_postings.account_id,
            all_postings.rebuilt_from
        from all_postings
        where all_postings.as_of_load_id > (select watermarks_before.postings_load_id from watermarks_before)

    ),

    input_restarts as (

        select
            written.input_model,
            max(written.rebuilt_from) as restart_date
        from written
        group by written.input_model

    ),

    -- the earliest month whose completeness the coverage changes
    coverage_restart as (

        select min(kept_months.month_start) as restart_date
        from (
            select distinct
                kept.month_start,
                kept.is_complete_month
            from {{ this }} as kept
        ) as kept_months
        cross join data_coverage
        where
            kept_months.is_complete_month is distinct from coalesce(
                kept_months.month_start >= data_coverage.first_balance_date
                and last_day(kept_months.month_start) <= data_coverage.last_balance_date,
                false
            )

    ),

    restart as (

        select
            least(
                coalesce((select min(input_restarts.restart_date) from input_restarts), date '9999-12-31'),
                coalesce((select coverage_restart.restart_date from coverage_restart), date '9999-12-31')
            ) as restart_date

    ),

    kept_before_restart as (

        select
            kept.account_id,
            kept.month_start,
            kept.required_provision,
            kept.write_off,
            kept.credit_cost,
            kept.service_cost
        from {{ this }} as kept
        cross join restart
        where kept.month_start < restart.restart_date

    ),

    changed_provisions as (

        select
            coalesce(current_rows.account_id, kept_before_restart.account_id) as account_id,
            coalesce(current_rows.month_start, kept_before_restart.month_start) as month_start
        from (
            select all_provisions.*
            from all_provisions
            cross join restart
            where all_provisions.month_start < restart.restart_date
        ) as current_rows
        full outer join (
            select kept_before_restart.*
            from kept_before_restart
            where
                kept_before_restart.required_provision is not null
                or kept_before_restart.write_off <> 0
                or kept_before_restart.credit_cost <> 0
        ) as kept_before_restart
            on
                current_rows.account_id = kept_before_restart.account_id
                and current_rows.month_start = kept_before_restart.month_start
        where
            current_rows.required_provision is distinct from kept_before_restart.required_provision
            or coalesce(current_rows.write_off, 0) is distinct from kept_before_restart.write_off
            or coalesce(current_rows.credit_cost, 0) is distinct from kept_before_restart.credit_cost

    ),

    changed_service_costs as (

        select
            coalesce(current_rows.account_id, kept_before_restart.account_id) as account_id,
            coalesce(current_rows.month_start, kept_before_restart.month_start) as month_start
        from (
            select
                all_service_costs.account_id,
                all_service_costs.month_start,
                cast(
                    coalesce(all_service_costs.call_cost, 0) + coalesce(all_service_costs.session_cost, 0)
                    as decimal(18, 2)
                ) as service_cost
            from all_service_costs
            cross join restart
            where all_service_costs.month_start < restart.restart_date
        ) as current_rows
        full outer join (
            select kept_before_restart.*
            from kept_before_restart
            where kept_before_restart.service_cost <> 0
        ) as kept_before_restart
            on
                current_rows.account_id = kept_before_restart.account_id
                and current_rows.month_start = kept_before_restart.month_start
        where coalesce(current_rows.service_cost, 0) <> coalesce(kept_before_restart.service_cost, 0)

    ),

    rebuilt_accounts as (

        select
            candidates.account_id,
            min(candidates.rebuilt_from) as rebuilt_from
        from (
            select
                written.account_id,
                written.rebuilt_from
            from written
            union all
            select
                changed_provisions.account_id,
                changed_provisions.month_start as rebuilt_from
            from changed_provisions
            union all
            select
                changed_service_costs.account_id,
                changed_service_costs.month_start as rebuilt_from
            from changed_service_costs
            union all
            select
                changed_attributes.account_id,
                date '0001-01-01' as rebuilt_from
            from (
                {{ keys_with_changed_fingerprint('account_id', 'account_fingerprint', 'account_attributes') }}
            ) as changed_attributes
        ) as candidates
        group by candidates.account_id
        having min(candidates.rebuilt_from) < (select restart.restart_date from restart)

    ),
{% else %}
    {{ full_refresh_restart() }}
{% endif %}
{%- endcall %}

-- the months the night builds: from the restart on, and from earlier for the accounts rebuilt
interest as (

    select all_interest.*
    from all_interest
    cross join restart
    left join rebuilt_accounts
        on all_interest.account_id = rebuilt_accounts.account_id
    where
        all_interest.month_start >= restart.restart_date
        or all_interest.month_start >= rebuilt_accounts.rebuilt_from

),

postings as (

    select all_postings.*
    from all_postings
    cross join restart
    left join rebuilt_accounts
        on all_postings.account_id = rebuilt_accounts.account_id
    where
        all_postings.month_start >= restart.restart_date
        or all_postings.month_start >= rebuilt_accounts.rebuilt_from

),

provisions as (

    select all_provisions.*
    from all_provisions
    cross join restart
    left join rebuilt_accounts
        on all_provisions.account_id = rebuilt_accounts.account_id
    where
        all_provisions.month_start >= restart.restart_date
        or all_provisions.month_start >= rebuilt_accounts.rebuilt_from

),

service_costs as (

    select all_service_costs.*
    from all_service_costs
    cross join restart
    left join rebuilt_accounts
        on all_service_costs.account_id = rebuilt_accounts.account_id
    where
        all_service_costs.month_start >= restart.restart_date
        or all_service_costs.month_start >= rebuilt_accounts.rebuilt_from

),

interest_watermark as (

    select max(all_interest.as_of_load_id) as interest_load_id
    from all_interest

),

postings_watermark as (

    select max(all_postings.as_of_load_id) as postings_load_id
    from all_postings

),

watermarks as (

    select
        interest_watermark.interest_load_id,
        postings_watermark.postings_load_id
    from interest_watermark
    cross join postings_watermark

),

assumptions as (

    select * from {{ ref('int_profitability_assumptions') }}

),

maintenance_costs as (

    select * from {{ ref('maintenance_costs_by_product_family') }}

),

risk_weights as (

    select * from {{ ref('risk_weights') }}

),

account_months as (

    select
        interest.account_id,
        interest.month_start
    from interest
    union
    select
        postings.account_id,
        postings.month_start
    from postings
    union
    select
        provisions.account_id,
        provisions.month_start
    from provisions

),

joined as (

    select
        account_months.month_start,
        account_months.account_id,
        accounts.customer_key,
        accounts.product_code,
        accounts.product_family,
        accounts.product_type,
        accounts.balance_side,
        accounts.branch_id,
        -- the account's own RM overrides the customer's
        coalesce(accounts.rm_id, customers.rm_id) as rm_id,
        cast(day(last_day(account_months.month_start)) as integer) as days_in_month,
        coalesce(interest.n_days_on_book, 0) as n_days_on_book,
        coalesce(interest.avg_balance, 0) as avg_balance,
        interest.customer_rate_pct,
        interest.ftp_rate_pct,
        coalesce(interest.net_interest_income, 0) as net_interest_income,
        case when accounts.balance_side = 'ASSET' then coalesce(interest.customer_interest, 0) else 0 end
            as interest_income,
        case when accounts.balance_side = 'LIABILITY' then coalesce(interest.customer_interest, 0) else 0 end
            as interest_expense,
        coalesce(postings.n_postings, 0) as n_postings,
        coalesce(postings.fee_income, 0) as fee_income,
        coalesce(postings.card_purchase_amount, 0) as card_purchase_amount,
        coalesce(postings.posting_cost, 0) as posting_cost,
        coalesce(service_costs.call_cost, 0) + coalesce(service_costs.session_cost, 0) as service_cost,
        coalesce(maintenance_costs.monthly_cost, 0) as maintenance_cost_full_month,
        provisions.required_provision,
        coalesce(provisions.write_off, 0) as write_off,
        coalesce(provisions.credit_cost, 0) as credit_cost,
        coalesce(
            risk_weights.risk_weight,
            case when accounts.balance_side = 'ASSET' then 1 else 0 end
        ) as risk_weight,
        assumptions.card_interchange_rate,
        assumptions.capital_ratio,
        assumptions.cost_of_equity,
        coalesce(
            account_months.month_start >= data_coverage.first_balance_date
            and last_day(account_months.month_start) <= data_coverage.last_balance_date,
            false
        ) as is_complete_month,
        account_attributes.account_fingerprint,
        coalesce(rebuilt_accounts.rebuilt_from, restart.restart_date) as rebuilt_from
    from account_months
    left join accounts
        on account_months.account_id = accounts.account_id
    left join customers
        on accounts.customer_key = customers.customer_key
    left join interest
        on
            account_months.account_id = interest.account_id
            and account_months.month_start = interest.month_start
    left join postings
        on
            account_months.account_id = postings.account_id
            and account_months.month_start = postings.month_start
    left join provisions
        on
            account_months.account_id = provisions.account_id
            and account_months.month_start = provisions.month_start
    left join service_costs
        on
            account_months.account_id = service_costs.account_id
            and account_months.month_start = service_costs.month_start
    left join maintenance_costs
        on accounts.product_family = maintenance_costs.product_family
    left join risk_weights
        on accounts.product_type = risk_weights.product_type
    left join account_attributes
        on account_months.account_id = account_attributes.account_id
    left join rebuilt_accounts
        on account_months.account_id = rebuilt_accounts.account_id
    cross join assumptions
    cross join data_coverage
    cross join restart

),

components as (

    select
        joined.*,
        cast(
            case
                when joined.balance_side = 'ASSET'
                    then cast(joined.avg_balance as decimal(38, 4)) * joined.risk_weight
                else 0
            end as decimal(18, 2)
        ) as risk_weighted_assets,
        cast(
            cast(joined.card_purchase_amount as decimal(38, 4)) * joined.card_interchange_rate
            as decimal(18, 2)
        ) as other_income,
        cast(joined.posting_cost as decimal(18, 2)) as posting_cost_cents,
        cast(joined.service_cost as decimal(18, 2)) as service_cost_cents,
        cast(
            {{
                rounded_quotient(
                    'cast(joined.maintenance_cost_full_month as decimal(38, 4)) * joined.n_days_on_book',
                    'joined.days_in_month',
                    2,
                )
            }}
            as decimal(18, 2)
        ) as maintenance_cost
    from joined

),

capital as (

    -- money widened before it is multiplied (here and in the capital charge): DuckDB multiplies
    -- two DECIMAL(18) values as a DECIMAL(18), whose eight decimals would leave ten digits
    select
        components.*,
        cast(
            cast(components.risk_weighted_assets as decimal(38, 2)) * components.capital_ratio as decimal(18, 2)
        ) as allocated_capital
    from components

),

final as (

    select
        capital.month_start,
        capital.account_id,
        capital.customer_key,
        capital.product_code,
        capital.product_family,
        capital.product_type,
        capital.balance_side,
        capital.branch_id,
        capital.rm_id,
        capital.is_complete_month,
        capital.n_days_on_book,
        capital.n_postings,
        cast(capital.avg_balance as decimal(18, 2)) as avg_balance,
        capital.customer_rate_pct,
        capital.ftp_rate_pct,
        capital.risk_weighted_assets,
        capital.allocated_capital,
        cast(capital.required_provision as decimal(18, 2)) as required_provision,
        cast(capital.write_off as decimal(18, 2)) as write_off,
        cast(capital.interest_income as decimal(18, 2)) as interest_income,
        cast(capital.interest_expense as decimal(18, 2)) as interest_expense,
        cast(capital.net_interest_income as decimal(18, 2)) as net_interest_income,
        cast(capital.fee_income as decimal(18, 2)) as fee_income,
        capital.other_income,
        capital.posting_cost_cents as posting_cost,
        capital.service_cost_cents as service_cost,
        capital.maintenance_cost,
        cast(
            capital.posting_cost_cents
            + capital.service_cost_cents
            + capital.maintenance_cost
            as decimal(18, 2)
        ) as operating_cost,
        cast(capital.credit_cost as decimal(18, 2)) as credit_cost,
        cast(
            cast(capital.net_interest_income as decimal(18, 2))
            + cast(capital.fee_income as decimal(18, 2))
            + capital.other_income
            - (capital.posting_cost_cents + capital.service_cost_cents + capital.maintenance_cost)
            - cast(capital.credit_cost as decimal(18, 2))
            as decimal(18, 2)
        ) as contribution,
        -- one division, rounded half up to the cent on both engines (rounded_quotient): a capital
        -- of 3,882.50 charges 38.825 a full month, 38.83
        cast(
            {{
                rounded_quotient(
                    'cast(capital.allocated_capital as decimal(38, 2)) * capital.cost_of_equity * capital.n_days_on_book',
                    '12 * capital.days_in_month',
                    2,
                )
            }}
            as decimal(18, 2)
        ) as capital_charge,
        -- lineage of the incremental build
        capital.account_fingerprint,
        capital.rebuilt_from,
        watermarks.interest_load_id,
        watermarks.postings_load_id,
        -- the run that wrote the row: what the shares read since their watermark
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from capital
    cross join watermarks

)

select
    final.*,
    cast(final.contribution - final.capital_charge as decimal(18, 2)) as economic_profit
from final
{{ replace_tail_markers(output_columns) }}
