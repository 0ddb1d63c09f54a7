-- Every fit and evaluation of an analytical model (`bankdw models train|evaluate`), kept in the
-- lake (`_audit/model_runs/`) because the warehouse file is rebuilt each run. Read through the
-- whole `_audit/` folder as audit_check_results is: the typed empty row set gives the columns
-- before the first model is trained, and only the files under `_audit/model_runs/` are kept.
with no_runs as (

    select
        cast(null as varchar) as run_id,
        cast(null as varchar) as model,
        cast(null as varchar) as action,
        cast(null as timestamptz) as ran_at,
        cast(null as varchar) as model_version,
        cast(null as date) as cutoff,
        cast(null as varchar) as data_fingerprint,
        cast(null as varchar) as libraries,
        cast(null as double) as seconds,
        cast(null as bigint) as train_rows,
        cast(null as bigint) as train_churners,
        cast(null as bigint) as eval_rows,
        cast(null as bigint) as eval_churners,
        cast(null as double) as auc,
        cast(null as double) as average_precision,
        cast(null as double) as precision_at_10pct,
        cast(null as double) as recall_at_10pct,
        cast(null as double) as lift_at_10pct,
        cast(null as double) as auc_vs_truth,
        cast(null as double) as spearman,
        cast(null as double) as mean_absolute_error,
        cast(null as varchar) as figures
    where false

),

audit_files as (

    select * from {{ source('lake_audit', 'checks') }}

),

runs as (

    select * from no_runs
    union all by name
    select * from audit_files
    where audit_files.filename like '%/_audit/model_runs/%'

),

final as (

    select
        cast(runs.run_id as varchar) as run_id,
        cast(runs.model as varchar) as model,
        cast(runs.action as varchar) as action,
        cast(runs.ran_at as timestamptz) as ran_at,
        cast(runs.model_version as varchar) as model_version,
        cast(runs.cutoff as date) as cutoff,
        cast(runs.data_fingerprint as varchar) as data_fingerprint,
        cast(runs.libraries as varchar) as libraries,
        cast(runs.seconds as double) as seconds,
        cast(runs.train_rows as bigint) as train_rows,
        cast(runs.train_churners as bigint) as train_churners,
        cast(runs.eval_rows as bigint) as eval_rows,
        cast(runs.eval_churners as bigint) as eval_churners,
        cast(runs.auc as double) as auc,
        cast(runs.average_precision as double) as average_precision,
        cast(runs.precision_at_10pct as double) as precision_at_10pct,
        cast(runs.recall_at_10pct as double) as recall_at_10pct,
        cast(runs.lift_at_10pct as double) as lift_at_10pct,
        cast(runs.auc_vs_truth as double) as auc_vs_truth,
        cast(runs.spearman as double) as spearman,
        cast(runs.mean_absolute_error as double) as mean_absolute_error,
        cast(runs.figures as varchar) as figures
    from runs

)

select * from final
