-- Every change to what verification reads of a key or gateway token is
-- written to this log by the database itself, in the transaction that makes
-- it, so that no code path (nor the CLI, in another process) can forget to
-- announce it. A running server reads the log a few times a second and
-- forgets its cached copies; it also trims the log.
create table change_log (
    seq integer primary key autoincrement,
    kind text not null check (kind in ('key', 'gateway')),
    ref text not null
);

create trigger api_keys_announce_insert after insert on api_keys
begin
    insert into change_log (kind, ref) values ('key', new.key_id);
end;

create trigger api_keys_announce_update
    after update of key_id, org_id, environment, scopes, ip_allowlist, secret_hash, expires_at, rotating_until, revoked_at, suspended_at, suspended_until, approval, rate_limit_per_minute on api_keys
begin
    insert into change_log (kind, ref) values ('key', new.key_id);
end;

create trigger gateway_tokens_announce_insert after insert on gateway_tokens
begin
    insert into change_log (kind, ref) values ('gateway', new.token_id);
end;

create trigger gateway_tokens_announce_update
    after update of token_id, token_hash, revoked_at on gateway_tokens
begin
    insert into change_log (kind, ref) values ('gateway', new.token_id);
end;

-- A wrong secret is not the key's traffic: such events keep only the public
-- id presented (key_id is null). The wrong-secret alert counts them by it.
create index usage_events_wrong_secret_idx on usage_events (presented_key_id, at)
    where key_id is null and outcome = 'unknown';
