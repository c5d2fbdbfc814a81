-- Second factors for signing in to the portal.
--
-- A TOTP authenticator (RFC 6238) per account. Its shared secret is sealed
-- (XChaCha20-Poly1305, keyed from the server secret), never stored in
-- plaintext. A row is pending until its first code is confirmed; the last
-- time step a code was accepted for is kept so that no code works twice
-- (RFC 6238 section 5.2).
create table totp_authenticators (
    user_id integer not null,
    sealed_secret text not null,
    created_at text not null,
    confirmed_at text,
    last_used_step integer,
    constraint totp_authenticators_pkey primary key (user_id),
    constraint totp_authenticators_user_fkey foreign key (user_id) references users (id) on delete cascade
);

-- Single-use recovery codes, stored as HMACs keyed with the server secret.
create table recovery_codes (
    user_id integer not null,
    code_hash text not null,
    created_at text not null,
    used_at text,
    constraint recovery_codes_pkey primary key (user_id, code_hash),
    constraint recovery_codes_user_fkey foreign key (user_id) references users (id) on delete cascade
);

-- An organisation may require every member to sign in with a second factor.
alter table organisations add column require_second_factor boolean not null default false;
