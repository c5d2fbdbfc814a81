-- Governance: organisation policies, approval decisions, invitations by
-- email, and notifications (in the app, and by email when SMTP is set).

create table org_policies (
    org_id bigint not null,
    max_lifetime_days integer not null default 365,
    default_expiry_days integer not null default 90,
    developer_environments text not null default 'sandbox production',
    approval_for_high_risk_production boolean not null default true,
    updated_at timestamptz not null,
    updated_by bigint,
    constraint org_policies_pkey primary key (org_id),
    constraint org_policies_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint org_policies_updated_by_fkey foreign key (updated_by) references users (id)
);

alter table api_keys add column approval_decided_by bigint;
alter table api_keys add column approval_decided_at timestamptz;
alter table api_keys add column approval_comment text;
alter table api_keys add constraint api_keys_approval_decided_by_fkey foreign key (approval_decided_by) references users (id);
create index api_keys_approval_idx on api_keys (org_id, approval);

alter table invitations add column email text;

create table notifications (
    id bigint generated always as identity,
    user_id bigint not null,
    org_id bigint not null,
    key_id bigint,
    kind text not null,
    subject text not null,
    body text not null,
    link text not null,
    dedupe_key text,
    created_at timestamptz not null,
    read_at timestamptz,
    email_state text not null,
    email_attempts integer not null default 0,
    emailed_at timestamptz,
    constraint notifications_pkey primary key (id),
    constraint notifications_dedupe_key unique (user_id, dedupe_key),
    constraint notifications_user_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint notifications_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint notifications_key_fkey foreign key (key_id) references api_keys (id),
    constraint notifications_email_state_check check (email_state in ('none', 'pending', 'sent', 'failed'))
);

create index notifications_user_idx on notifications (user_id, id);
create index notifications_email_idx on notifications (email_state, id);
