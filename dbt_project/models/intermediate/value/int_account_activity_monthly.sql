-- What was done on every account in every month, the raw material of customer activity
-- (int_customer_activity_monthly): customer-initiated postings (any channel but SYSTEM,
-- reversals left out) and the last of them, whether a salary (or pension: txn_type SALARY) was
-- credited, and transfers to other banks (TRANSFER_OUT with a counterparty bank; one that a
-- later reversal cancels still counts: a sign of money elsewhere, not an amount to reconcile).
-- Kept by account, which never changes hands, so that identity resolution can re-key
-- customers without touching it.
-- Incremental by month (macros/incremental.sql; on Spark partitioned by month, incremental_by_date,
-- macros/engines.sql): a night rebuilds the months from the
-- earliest posting date a newer load brought, normally the current month only.
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_withdrawn_rows('core_banking', ref('int_transactions_flagged'), 'month_start', 'posting_date', grain='month') }}",
        ],
        **incremental_by_date('month_start'),
    )
}}

with transactions as (

    select * from {{ ref('int_transactions_flagged') }}
    where not is_reversal
    {% if is_incremental() %}
        and posting_date >= date_trunc('month', {{ reprocess_from(ref('int_transactions_flagged'), 'posting_date', system='core_banking') }})
    {% endif %}

),

final as (

    select
        cast(date_trunc('month', transactions.posting_date) as date) as month_start,
        transactions.account_id,
        count(*) filter (where transactions.channel <> 'SYSTEM') as n_postings,
        max(transactions.posting_date) filter (where transactions.channel <> 'SYSTEM') as last_posting_date,
        bool_or(transactions.txn_type = 'SALARY') as is_salary_credited,
        cast(
            coalesce(
                sum(-transactions.amount) filter (
                    where
                    transactions.txn_type = 'TRANSFER_OUT'
                    and transactions.channel <> 'SYSTEM'
                    and transactions.counterparty_bank is not null
                ),
                0
            ) as decimal(18, 2)
        ) as outflow_elsewhere,
        max(transactions._load_id) as load_id,
        -- the run that wrote the month (int_customer_activity_monthly's watermark)
        '{{ run_started_at.strftime("%Y%m%dT%H%M%S%fZ") }}' as built_in_run
    from transactions
    group by all

)

select * from final
