-- Verification: per-key rate limits, the states that stop a key short of
-- revocation (suspension, pending approval), and the gateway tokens that may
-- call /v1/verify.

alter table api_keys add column rate_limit_per_minute integer not null default 600;
alter table api_keys add column suspended_at timestamptz;
alter table api_keys add column suspended_by bigint;
alter table api_keys add column suspended_reason text;
alter table api_keys add column suspended_until timestamptz;
alter table api_keys add column approval text not null default 'not_required';
alter table api_keys add constraint api_keys_suspended_by_fkey foreign key (suspended_by) references users (id);
alter table api_keys add constraint api_keys_approval_check check (approval in ('not_required', 'pending', 'approved', 'rejected'));

create table gateway_tokens (
    id bigint generated always as identity,
    token_id text not null,
    name text not null,
    token_hash text not null,
    created_by bigint,
    created_at timestamptz not null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    constraint gateway_tokens_pkey primary key (id),
    constraint gateway_tokens_token_id_key unique (token_id),
    constraint gateway_tokens_name_key unique (name),
    constraint gateway_tokens_created_by_fkey foreign key (created_by) references users (id)
);
