-- Every fit and evaluation of an analytical model (`bankdw models train|evaluate`), kept in the
-- lake (`_audit/model_runs/`) because the warehouse file is rebuilt each run. The source reads
-- all of `_audit/`, and only the files under `_audit/model_runs/` are kept: their columns are the
-- model runs', whose zero-row schema file (`_audit/model_runs/empty.parquet`, written before
-- every build: models/runs.py) gives them before the first model is trained. Named, not
-- `union all by name` with a typed empty row set as before: Spark's SQL has no `union all by
-- name` (docs/spark.md), and Spark reads a schema file whose name does not start with `_`.
with audit_files as (

    select * from {{ source('lake_audit', 'checks') }}

),

runs as (

    select
        audit_files.run_id,
        audit_files.model,
        audit_files.action,
        audit_files.ran_at,
        audit_files.model_version,
        audit_files.cutoff,
        audit_files.data_fingerprint,
        audit_files.libraries,
        audit_files.seconds,
        audit_files.train_rows,
        audit_files.train_churners,
        audit_files.eval_rows,
        audit_files.eval_churners,
        audit_files.auc,
        audit_files.average_precision,
        audit_files.precision_at_10pct,
        audit_files.recall_at_10pct,
        audit_files.lift_at_10pct,
        audit_files.auc_vs_truth,
        audit_files.spearman,
        audit_files.mean_absolute_error,
        audit_files.figures
    from audit_files
    where audit_files.filename like '%/_audit/model_runs/%'

),

final as (

    select
        cast(runs.run_id as {{ string_type() }}) as run_id,
        cast(runs.model as {{ string_type() }}) as model,
        cast(runs.action as {{ string_type() }}) as action,
        cast(runs.ran_at as {{ timestamptz_type() }}) as ran_at,
        cast(runs.model_version as {{ string_type() }}) as model_version,
        cast(runs.cutoff as date) as cutoff,
        cast(runs.data_fingerprint as {{ string_type() }}) as data_fingerprint,
        cast(runs.libraries as {{ string_type() }}) as libraries,
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
        cast(runs.figures as {{ string_type() }}) as figures
    from runs

)

select * from final
