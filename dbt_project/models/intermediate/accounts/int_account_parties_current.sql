-- Who holds which account today: the latest account_parties snapshot only. Unlike the
-- other current models, a party that left the latest snapshot is gone (a removed joint
-- holder must stop sharing the balance).
with account_parties as (

    select * from {{ ref('stg_core_banking__account_parties') }}

),

latest_snapshot as (

    select max(account_parties.snapshot_date) as snapshot_date
    from account_parties

),

current_parties as (

    select
        account_parties.account_id,
        account_parties.customer_id,
        account_parties.role,
        account_parties.snapshot_date
    from account_parties
    inner join latest_snapshot
        on account_parties.snapshot_date = latest_snapshot.snapshot_date

)

select * from current_parties
