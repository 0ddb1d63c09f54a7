-- The last known state of every contact-centre agent: its row from the latest snapshot it appears in.
-- A record that has left the latest snapshot keeps its last state (is_in_latest_snapshot is
-- false), so facts that still reference it keep their dimension (macros/current_state.sql).
{{ config(**current_state_config('agent_id')) }}
{{ current_state(ref('stg_call_center__agents'), 'agent_id', 'call_center') }}
