-- Short-lived access tokens: a key traded for a signed JWT through the
-- OAuth 2.0 client credentials grant (RFC 6749 §4.4, RFC 9068).

-- The keys tokens are signed with (ES256, RFC 7518 §3.4). The private key is
-- PKCS #8, sealed under the server secret; the public key's coordinates are
-- published in the JWKS (RFC 7517) from `created_at`. A key signs from
-- `signs_from` until the next key's `signs_from`, and stays published until
-- every token it signed has expired, or until it is withdrawn.
create table signing_keys (
    kid text not null,
    algorithm text not null check (algorithm in ('ES256')),
    private_key_sealed text not null,
    public_x text not null,
    public_y text not null,
    created_at timestamptz not null,
    signs_from timestamptz not null,
    withdrawn_at timestamptz,
    constraint signing_keys_pkey primary key (kid)
);

-- Every access token minted: what the key page counts, and what an audit of
-- a leaked token starts from. The token itself is never stored.
create table token_grants (
    id bigint generated always as identity,
    jti text not null,
    key_id bigint not null,
    org_id bigint not null,
    scope text not null,
    kid text not null,
    issued_at timestamptz not null,
    expires_at timestamptz not null,
    constraint token_grants_pkey primary key (id),
    constraint token_grants_jti_key unique (jti),
    constraint token_grants_key_fkey foreign key (key_id) references api_keys (id) on delete cascade,
    constraint token_grants_org_fkey foreign key (org_id) references organisations (id) on delete cascade,
    constraint token_grants_kid_fkey foreign key (kid) references signing_keys (kid)
);
create index token_grants_key_idx on token_grants (key_id, issued_at);
create index token_grants_expiry_idx on token_grants (expires_at);

-- How long an organisation's access tokens live, in seconds (1 minute to
-- 1 hour).
alter table org_policies add column access_token_lifetime_secs bigint not null default 600
    constraint org_policies_access_token_lifetime_check check (access_token_lifetime_secs between 60 and 3600);

-- A signing key published or withdrawn reaches every server at once, like a
-- key's change.
create function portico_announce_signing_key() returns trigger language plpgsql as $$
begin
    perform pg_notify('portico_changes', 'signing:' || new.kid);
    return null;
end
$$;

create trigger signing_keys_announce
    after insert or update of signs_from, withdrawn_at on signing_keys
    for each row execute function portico_announce_signing_key();
