-- Every change to what verification reads of a key or gateway token is
-- announced by the database itself, in the transaction that makes it: every
-- instance (and the CLI) then reaches every other through LISTEN/NOTIFY, and
-- no code path can forget to announce. NOTIFY is delivered only on commit.
create function portico_announce_key() returns trigger language plpgsql as $$
begin
    perform pg_notify('portico_changes', 'key:' || new.key_id);
    return null;
end
$$;

create function portico_announce_gateway_token() returns trigger language plpgsql as $$
begin
    perform pg_notify('portico_changes', 'gateway:' || new.token_id);
    return null;
end
$$;

create trigger api_keys_announce_insert after insert on api_keys
    for each row execute function portico_announce_key();
create trigger api_keys_announce_update
    after update of key_id, org_id, environment, scopes, ip_allowlist, secret_hash, expires_at, rotating_until, revoked_at, suspended_at, suspended_until, approval, rate_limit_per_minute on api_keys
    for each row execute function portico_announce_key();
create trigger gateway_tokens_announce
    after insert or update of token_id, token_hash, revoked_at on gateway_tokens
    for each row execute function portico_announce_gateway_token();

-- A wrong secret is not the key's traffic: such events keep only the public
-- id presented (key_id is null). The wrong-secret alert counts them by it.
create index usage_events_wrong_secret_idx on usage_events (presented_key_id, at)
    where key_id is null and outcome = 'unknown';
