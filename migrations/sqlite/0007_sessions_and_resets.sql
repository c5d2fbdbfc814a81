-- The signed-in sessions of each account, so that people can see where they
-- are signed in and end a session, and so that a password change or a
-- staff role taken away can end sessions on the server. A session's cookie
-- data (in `sessions`) carries the id of its row here; a session whose row
-- is gone is signed out at its next request.
create table account_sessions (
    id text not null,
    user_id integer not null,
    created_at text not null,
    last_seen_at text not null,
    client_addr text not null,
    user_agent text not null,
    constraint account_sessions_pkey primary key (id),
    constraint account_sessions_user_fkey foreign key (user_id) references users (id) on delete cascade
);

create index account_sessions_user_idx on account_sessions (user_id, last_seen_at);

-- Single-use password reset links, sent by email: stored as SHA-256 hashes
-- (the link carries the token), valid for 30 minutes.
create table password_resets (
    token_hash text not null,
    user_id integer not null,
    created_at text not null,
    expires_at text not null,
    used_at text,
    constraint password_resets_pkey primary key (token_hash),
    constraint password_resets_user_fkey foreign key (user_id) references users (id) on delete cascade
);

create index password_resets_user_idx on password_resets (user_id, created_at);
