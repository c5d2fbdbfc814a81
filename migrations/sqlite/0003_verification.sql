-- Verification: per-key rate limits, the states that stop a key short of
-- revocation (suspension, pending approval), and the gateway tokens that may
-- call /v1/verify.

alter table api_keys add column rate_limit_per_minute integer not null default 600;
alter table api_keys add column suspended_at text;
alter table api_keys add column suspended_by integer references users (id);
alter table api_keys add column suspended_reason text;
alter table api_keys add column suspended_until text;
alter table api_keys add column approval text not null default 'not_required';

create table gateway_tokens (
    id integer primary key,
    token_id text not null,
    name text not null,
    token_hash text not null,
    created_by integer,
    created_at text not null,
    last_used_at text,
    revoked_at text,
    constraint gateway_tokens_token_id_key unique (token_id),
    constraint gateway_tokens_name_key unique (name),
    constraint gateway_tokens_created_by_fkey foreign key (created_by) references users (id)
);
