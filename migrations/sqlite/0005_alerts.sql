-- Anomaly alerts per key, the detector's progress through usage events,
-- the networks each key was used from, per-organisation thresholds, and
-- traffic-aware rotation.

create table alerts (
    id integer primary key,
    org_id integer not null,
    key_id integer not null,
    kind text not null,
    fingerprint text not null,
    first_seen text not null,
    last_seen text not null,
    count integer not null,
    evidence text not null,
    state text not null default 'open',
    state_changed_by text,
    state_changed_at text,
    constraint alerts_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint alerts_key_fkey foreign key (key_id) references api_keys (id),
    constraint alerts_state_check check (state in ('open', 'acknowledged', 'resolved'))
);

-- One live alert per key, kind and fingerprint: new events add to it.
create unique index alerts_live_key on alerts (key_id, kind, fingerprint) where state <> 'resolved';
create index alerts_org_idx on alerts (org_id, state, last_seen);

create table alert_settings (
    org_id integer not null,
    spike_factor integer not null default 5,
    spike_floor integer not null default 100,
    wrong_secret_threshold integer not null default 3,
    auto_suspend_on_spike boolean not null default false,
    auto_suspend_on_retired_use boolean not null default false,
    updated_at text not null,
    updated_by integer,
    constraint alert_settings_pkey primary key (org_id),
    constraint alert_settings_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint alert_settings_updated_by_fkey foreign key (updated_by) references users (id)
);

create table key_networks (
    key_id integer not null,
    network text not null,
    first_seen text not null,
    last_seen text not null,
    constraint key_networks_pkey primary key (key_id, network),
    constraint key_networks_key_fkey foreign key (key_id) references api_keys (id)
);

create table detector_cursor (
    name text not null,
    last_event_id integer not null,
    constraint detector_cursor_pkey primary key (name)
);

alter table api_keys add column quiet_minutes integer;

-- How often the review expects keys to be rotated, by risk.
alter table org_policies add column rotate_high_risk_days integer not null default 90;
alter table org_policies add column rotate_low_risk_days integer not null default 365;
