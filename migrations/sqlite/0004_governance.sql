-- Governance: organisation policies, approval decisions, invitations by
-- email, and notifications (in the app, and by email when SMTP is set).

create table org_policies (
    org_id integer not null,
    max_lifetime_days integer not null default 365,
    default_expiry_days integer not null default 90,
    developer_environments text not null default 'sandbox production',
    approval_for_high_risk_production boolean not null default true,
    updated_at text not null,
    updated_by integer,
    constraint org_policies_pkey primary key (org_id),
    constraint org_policies_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint org_policies_updated_by_fkey foreign key (updated_by) references users (id)
);

alter table api_keys add column approval_decided_by integer references users (id);
alter table api_keys add column approval_decided_at text;
alter table api_keys add column approval_comment text;
create index api_keys_approval_idx on api_keys (org_id, approval);

alter table invitations add column email text;

create table notifications (
    id integer primary key,
    user_id integer not null,
    org_id integer not null,
    key_id integer,
    kind text not null,
    subject text not null,
    body text not null,
    link text not null,
    dedupe_key text,
    created_at text not null,
    read_at text,
    email_state text not null,
    email_attempts integer not null default 0,
    emailed_at text,
    constraint notifications_dedupe_key unique (user_id, dedupe_key),
    constraint notifications_user_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint notifications_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint notifications_key_fkey foreign key (key_id) references api_keys (id),
    constraint notifications_email_state_check check (email_state in ('none', 'pending', 'sent', 'failed'))
);

create index notifications_user_idx on notifications (user_id, id);
create index notifications_email_idx on notifications (email_state, id);
