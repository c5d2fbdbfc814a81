-- A key may carry a monthly request quota (accepted verifications in a
-- calendar month, UTC); null: none. The notices at 80 % and 100 % go out
-- once a month per person through the notifications' dedupe key.
alter table api_keys add column monthly_quota integer;

-- A quota change is a change to what verification reads: announce it to
-- every running instance, like the other columns.
drop trigger api_keys_announce_update;
create trigger api_keys_announce_update
    after update of key_id, org_id, environment, scopes, ip_allowlist, secret_hash, expires_at, rotating_until, revoked_at, suspended_at, suspended_until, approval, rate_limit_per_minute, monthly_quota on api_keys
begin
    insert into change_log (kind, ref) values ('key', new.key_id);
end;
