-- API keys, their append-only audit trail, and usage counts.

create table api_keys (
    id bigint generated always as identity,
    key_id text not null,
    org_id bigint not null,
    owner_id bigint not null,
    created_by bigint not null,
    name text not null,
    purpose text not null,
    service text not null,
    environment text not null,
    scopes text not null,
    ip_allowlist text not null,
    secret_hash text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    last_used_at timestamptz,
    last_used_addr text,
    predecessor_id bigint,
    successor_id bigint,
    rotating_until timestamptz,
    revoked_at timestamptz,
    revoked_by bigint,
    revoked_reason text,
    expiry_recorded_at timestamptz,
    create_token text,
    constraint api_keys_pkey primary key (id),
    constraint api_keys_key_id_key unique (key_id),
    constraint api_keys_secret_hash_key unique (secret_hash),
    constraint api_keys_create_token_key unique (create_token),
    constraint api_keys_org_fkey foreign key (org_id) references organisations (id),
    constraint api_keys_owner_fkey foreign key (owner_id) references users (id),
    constraint api_keys_created_by_fkey foreign key (created_by) references users (id),
    constraint api_keys_revoked_by_fkey foreign key (revoked_by) references users (id),
    constraint api_keys_predecessor_fkey foreign key (predecessor_id) references api_keys (id),
    constraint api_keys_successor_fkey foreign key (successor_id) references api_keys (id),
    constraint api_keys_environment_check check (environment in ('sandbox', 'production'))
);

create index api_keys_org_idx on api_keys (org_id, created_at);
create index api_keys_owner_idx on api_keys (owner_id);

create table audit_events (
    id bigint generated always as identity,
    org_id bigint not null,
    key_id bigint,
    actor_id bigint,
    actor_email text not null,
    action text not null,
    reason text,
    details text,
    client_addr text,
    at timestamptz not null,
    constraint audit_events_pkey primary key (id),
    constraint audit_events_org_fkey foreign key (org_id) references organisations (id),
    constraint audit_events_key_fkey foreign key (key_id) references api_keys (id),
    constraint audit_events_actor_fkey foreign key (actor_id) references users (id)
);

create index audit_events_org_idx on audit_events (org_id, at);
create index audit_events_key_idx on audit_events (key_id, at);

-- The audit trail is append-only: the database refuses changes and deletions.
create function audit_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_events is append-only';
end;
$$;

create trigger audit_events_no_change before update or delete on audit_events
    for each row execute function audit_events_append_only();

-- Every verification, allowed or denied, kept for a configurable number of days.
create table usage_events (
    id bigint generated always as identity,
    at timestamptz not null,
    key_id bigint,
    org_id bigint,
    presented_key_id text,
    scope text,
    method text,
    path text,
    outcome text not null,
    client_addr text,
    latency_us bigint not null,
    constraint usage_events_pkey primary key (id),
    constraint usage_events_key_fkey foreign key (key_id) references api_keys (id)
);

create index usage_events_key_idx on usage_events (key_id, at);
create index usage_events_org_idx on usage_events (org_id, at);
create index usage_events_at_idx on usage_events (at);

-- Hourly counts per key, scope and outcome, kept longer than raw events.
create table usage_hourly (
    key_id bigint not null,
    hour timestamptz not null,
    scope text not null,
    outcome text not null,
    requests bigint not null,
    constraint usage_hourly_pkey primary key (key_id, hour, scope, outcome),
    constraint usage_hourly_key_fkey foreign key (key_id) references api_keys (id)
);
