-- Security notices to an account (its password, address or second factors
-- changed, a recovery code used, a wrong code after the right password):
-- listed on its Account page, and emailed when SMTP is configured, so that
-- they are seen on a portal without email too. Kept for a year.
create table security_notices (
    id bigint generated always as identity,
    user_id bigint not null,
    subject text not null,
    body text not null,
    created_at timestamptz not null,
    constraint security_notices_pkey primary key (id),
    constraint security_notices_user_fkey foreign key (user_id) references users (id) on delete cascade
);

create index security_notices_user_idx on security_notices (user_id, id);
