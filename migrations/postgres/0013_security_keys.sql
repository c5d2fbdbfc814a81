-- Security keys and passkeys (WebAuthn) registered as a second factor.
--
-- `credential` is the relying party's record of the credential as JSON
-- (its public key, signature counter and transports): nothing in it is a
-- secret. A credential id belongs to one account only.
create table security_keys (
    id bigint generated always as identity,
    user_id bigint not null,
    name text not null,
    credential_id text not null,
    credential text not null,
    created_at timestamptz not null,
    last_used_at timestamptz,
    constraint security_keys_pkey primary key (id),
    constraint security_keys_credential_id_key unique (credential_id),
    constraint security_keys_user_fkey foreign key (user_id) references users (id) on delete cascade
);

create index security_keys_user_idx on security_keys (user_id, id);
