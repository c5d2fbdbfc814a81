-- When each account proved it receives mail at its address. Accounts made
-- before verification existed count as verified from their creation.
alter table users add column email_verified_at timestamptz;
update users set email_verified_at = created_at;

-- Single-use links that prove an address: a new account's, or the new
-- address of an email change. Stored as SHA-256 hashes; valid for a day.
-- A sign-up through an invitation bound to the address joins the
-- organisation once the address is proven.
create table email_verifications (
    token_hash text not null,
    user_id bigint not null,
    email text not null,
    invitation_id bigint,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    constraint email_verifications_pkey primary key (token_hash),
    constraint email_verifications_user_fkey foreign key (user_id) references users (id) on delete cascade,
    constraint email_verifications_invitation_fkey foreign key (invitation_id) references invitations (id) on delete set null
);

create index email_verifications_user_idx on email_verifications (user_id, created_at);
