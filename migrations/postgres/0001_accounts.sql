-- People, organisations, memberships, platform staff and sessions.

create table users (
    id bigint generated always as identity,
    email text not null,
    password_hash text not null,
    created_at timestamptz not null,
    constraint users_pkey primary key (id),
    constraint users_email_key unique (email)
);

create table organisations (
    id bigint generated always as identity,
    name text not null,
    slug text not null,
    created_at timestamptz not null,
    constraint organisations_pkey primary key (id),
    constraint organisations_slug_key unique (slug)
);

create table memberships (
    org_id bigint not null,
    user_id bigint not null,
    role text not null,
    created_at timestamptz not null,
    constraint memberships_pkey primary key (org_id, user_id),
    constraint memberships_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint memberships_user_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint memberships_role_check check (role in ('developer', 'admin'))
);

create index memberships_user_idx on memberships (user_id);

create table invitations (
    id bigint generated always as identity,
    org_id bigint not null,
    token_hash text not null,
    role text not null,
    created_by bigint not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    accepted_by bigint,
    revoked_at timestamptz,
    constraint invitations_pkey primary key (id),
    constraint invitations_token_hash_key unique (token_hash),
    constraint invitations_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint invitations_created_by_fkey foreign key (created_by) references users (id),
    constraint invitations_accepted_by_fkey foreign key (accepted_by) references users (id),
    constraint invitations_role_check check (role in ('developer', 'admin'))
);

create index invitations_org_idx on invitations (org_id);

create table staff (
    user_id bigint not null,
    role text not null,
    granted_at timestamptz not null,
    constraint staff_pkey primary key (user_id),
    constraint staff_user_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint staff_role_check check (role in ('support', 'owner'))
);

create table setup_tokens (
    token_hash text not null,
    created_at timestamptz not null,
    used_at timestamptz,
    constraint setup_tokens_pkey primary key (token_hash)
);

create table sign_in_failures (
    id bigint generated always as identity,
    subject text not null,
    failed_at timestamptz not null,
    constraint sign_in_failures_pkey primary key (id)
);

create index sign_in_failures_subject_idx on sign_in_failures (subject, failed_at);

-- Read and written by tower-sessions-sqlx-store.
create table sessions (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);
