-- Every customer key of today's identity resolution with a fingerprint of its member records,
-- and `is_changed` when the key is new, gained or lost a record (a new record joined it, a
-- merge or a split), or was retired: those customers' history is rebuilt whole under today's
-- identity, the others keep theirs (macros/customer_history.sql). Like
-- int_customer_history_dates, the table compares with its own previous state, the published
-- warehouse's; a retired key stays one night as a changed row without fingerprint, so that
-- its history is deleted. Cost: one pass over the identity table (one row per record).
-- On Spark the model is incremental and rewrites itself (self_reading_table, macros/engines.sql).
{{ config(self_reading_table()) }}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none %}

with identity as (

    select * from {{ ref('int_customer_identity') }}

),

key_members as (

    select
        identity.customer_key,
        md5({{ ordered_string_agg('identity.customer_id', "'|'", 'identity.customer_id') }})
            as member_fingerprint,
        count(*) as n_members
    from identity
    group by identity.customer_key

),

previous_members as (

    {% if previous is not none and not should_full_refresh() %}
        select
            previous_ledger.customer_key,
            previous_ledger.member_fingerprint
        from {{ this }} as previous_ledger
        where previous_ledger.member_fingerprint is not null
    {% else %}
        select
            cast(null as {{ string_type() }}) as customer_key,
            cast(null as {{ string_type() }}) as member_fingerprint
        where false
    {% endif %}

),

final as (

    select
        coalesce(key_members.customer_key, previous_members.customer_key) as customer_key,
        key_members.member_fingerprint,
        coalesce(key_members.n_members, 0) as n_members,
        (key_members.member_fingerprint is distinct from previous_members.member_fingerprint) as is_changed
    from key_members
    full outer join previous_members
        on key_members.customer_key = previous_members.customer_key

)

select * from final
