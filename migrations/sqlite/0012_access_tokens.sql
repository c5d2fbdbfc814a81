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
    created_at text not null,
    signs_from text not null,
    withdrawn_at text,
    constraint signing_keys_pkey primary key (kid)
);

-- Every access token minted: what the key page counts, and what an audit of
-- a leaked token starts from. The token itself is never stored.
create table token_grants (
    id integer primary key,
    jti text not null unique,
    key_id integer not null references api_keys (id) on delete cascade,
    org_id integer not null references organisations (id) on delete cascade,
    scope text not null,
    kid text not null references signing_keys (kid),
    issued_at text not null,
    expires_at text not null
);
create index token_grants_key_idx on token_grants (key_id, issued_at);
create index token_grants_expiry_idx on token_grants (expires_at);

-- How long an organisation's access tokens live, in seconds (1 minute to
-- 1 hour).
alter table org_policies add column access_token_lifetime_secs integer not null default 600
    check (access_token_lifetime_secs between 60 and 3600);

-- A signing key published or withdrawn reaches every server through the
-- change log, like a key's change.
-- (SQLite cannot change a check constraint: the log is rebuilt, keeping its
-- entries and its sequence, so servers reading it miss nothing.)
create table change_log_saved as select seq, kind, ref from change_log;
create table change_log_seq_saved as select seq from sqlite_sequence where name = 'change_log';
drop table change_log;
create table change_log (
    seq integer primary key autoincrement,
    kind text not null check (kind in ('key', 'gateway', 'signing')),
    ref text not null
);
insert into change_log (seq, kind, ref) select seq, kind, ref from change_log_saved;
delete from sqlite_sequence where name = 'change_log';
insert into sqlite_sequence (name, seq) select 'change_log', seq from change_log_seq_saved;
drop table change_log_saved;
drop table change_log_seq_saved;

create trigger signing_keys_announce_insert after insert on signing_keys
begin
    insert into change_log (kind, ref) values ('signing', new.kid);
end;

create trigger signing_keys_announce_update
    after update of signs_from, withdrawn_at on signing_keys
begin
    insert into change_log (kind, ref) values ('signing', new.kid);
end;
