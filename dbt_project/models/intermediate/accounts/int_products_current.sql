-- The last known state of every product: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension (macros/current_state.sql).
{{ config(**current_state_config('product_code')) }}
{{ current_state(ref('stg_core_banking__products'), 'product_code', 'core_banking') }}
