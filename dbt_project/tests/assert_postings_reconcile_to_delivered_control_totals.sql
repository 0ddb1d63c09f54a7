-- Finance reconciles the warehouse to the core system's own figures: for every delivered
-- transactions file, the postings in fct_transactions must number what was loaded and add
-- up to the control total the core system declared in the manifest. A row here is a file
-- whose postings were lost, doubled or altered between the delivery and the mart.
-- The same fact as the feed gate's control_totals rule, with its severity (var gates).
{{ config(severity = gate_severity('control_totals')) }}

with delivered as (

    select
        loads.source_file,
        loads.rows_loaded,
        cast({{ json_string('loads.control_totals', "'$.amount'") }} as decimal(18, 4)) as amount_total
    from {{ ref('audit_loads') }} as loads
    where
        loads.feed = 'transactions'
        and loads.outcome = 'LOADED'
        and loads.control_totals is not null
    qualify row_number() over (partition by loads.source_file order by loads.load_id desc) = 1

),

in_marts as (

    select
        transactions.source_file,
        count(*) as n_postings,
        sum(transactions.amount) as amount_total
    from {{ ref('fct_transactions') }} as transactions
    group by transactions.source_file

),

final as (

    select
        delivered.source_file,
        delivered.rows_loaded,
        in_marts.n_postings,
        delivered.amount_total as delivered_amount_total,
        in_marts.amount_total as marts_amount_total
    from delivered
    left join in_marts
        on delivered.source_file = in_marts.source_file
    where
        delivered.rows_loaded is distinct from coalesce(in_marts.n_postings, 0)
        or delivered.amount_total is distinct from coalesce(in_marts.amount_total, 0)

)

select * from final
