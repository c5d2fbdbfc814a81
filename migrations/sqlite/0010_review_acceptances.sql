-- An admin may accept a finding of the key hygiene review (a production key
-- whose high-risk scopes were approved, say) with a note. The review then
-- lists it apart, with who accepted it, when and why, until it is reopened,
-- or until the finding is about something else (`subject`: the owner who
-- left, the scopes held, the last use...): a new occurrence is open again.
create table review_acceptances (
    key_id integer not null,
    kind text not null,
    subject text not null,
    note text not null,
    accepted_by integer,
    accepted_by_email text not null,
    accepted_at text not null,
    constraint review_acceptances_pkey primary key (key_id, kind),
    constraint review_acceptances_key_fkey foreign key (key_id) references api_keys (id) on delete cascade,
    constraint review_acceptances_user_fkey foreign key (accepted_by) references users (id) on delete set null
);
