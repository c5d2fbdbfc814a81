//! `/members`: who is in the organisation, and (for admins) invitations.

use crate::ui::shown_once::CopyButton;
use crate::{
    api::{
        account::{Me, OrgSummary},
        orgs::{
            list_invitations, list_members, ChangeMemberRole, CreateInvitation, MemberView,
            NewInvitation, RemoveMember, WithdrawInvitation,
        },
    },
    domain::{invitation::InvitationStatus, Role},
    ui::{
        format,
        forms::{action_error, field_error, ErrorPanel, FormMessage, SubmitButton},
        pager::pager_of,
        session::signed_in,
    },
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// The members page of the organisation the user acts in.
#[component]
pub fn MembersPage() -> impl IntoView {
    signed_in(|me: Me| match me.active_org().cloned() {
        None => Either::Left(view! {
            <Title text="Members" />
            <section class="empty-state">
                <h1>"No organisation"</h1>
                <p>"You are not a member of any organisation yet."</p>
                <p>
                    <A href="/organisations/new">"Create an organisation"</A>
                </p>
            </section>
        }),
        Some(org) => Either::Right(view! { <OrgMembers org /> }),
    })
}

#[component]
fn OrgMembers(org: OrgSummary) -> impl IntoView {
    let org_id = org.id;
    let is_admin = org.role == Role::Admin;
    let create = ServerAction::<CreateInvitation>::new();
    let withdraw = ServerAction::<WithdrawInvitation>::new();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name)).filter(|v| !v.is_empty());
    let members = Resource::new(
        move || {
            (
                org_id,
                change.version().get(),
                remove.version().get(),
                param("after"),
                param("before"),
            )
        },
        |(org_id, _, _, after, before)| list_members(org_id, after, before),
    );
    let page_href = |cursor: &str, email: String| {
        format!(
            "/members?{cursor}={}",
            crate::domain::next_path::encode_component(&email)
        )
    };
    let change_error = action_error(change);
    let remove_error = action_error(remove);
    let removed = move || {
        match remove.value().get() {
        Some(Ok(0)) => Some("Member removed.".to_owned()),
        Some(Ok(n)) => Some(format!(
            "Member removed. {n} key{} they own keep{} working, flagged “owner left”: give {} a new owner from the key page.",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            if n == 1 { "it" } else { "them" }
        )),
        _ => None,
    }
    };
    let invitations = Resource::new(
        move || (org_id, create.version().get(), withdraw.version().get()),
        move |(org_id, _, _)| async move {
            if is_admin {
                list_invitations(org_id).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    view! {
        <Title text=format!("Members of {}", org.name) />
        <div class="page-head">
            <h1>"Members of " {org.name.clone()}</h1>
            <p class="lede">
                "Admins manage every key of the organisation and invite people. Developers manage their own keys."
            </p>
        </div>
        <section aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <Suspense fallback=|| {
                view! { <p role="status">"Loading members…"</p> }
            }>
                {move || Suspend::new(async move {
                    match members.await {
                        Err(err) => Either::Left(view! { <ErrorPanel error=err /> }),
                        Ok(page) => {
                            let pager = pager_of("members", &page, |k, e| page_href(k, e.clone()));
                            let list = page.items;
                            Either::Right(
                                view! {
                                    <table class="table" data-testid="members">
                                        <caption class="visually-hidden">
                                            "Members and their roles"
                                        </caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Joined"</th>
                                                {is_admin
                                                    .then(|| view! { <th scope="col">"Two-factor"</th> })}
                                                {is_admin
                                                    .then(|| {
                                                        view! {
                                                            <th scope="col">
                                                                <span class="visually-hidden">"Actions"</span>
                                                            </th>
                                                        }
                                                    })}
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|m| {
                                                    view! { <MemberRow m org_id is_admin change remove /> }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                    {pager}
                                },
                            )
                        }
                    }
                })}
            </Suspense>
            <FormMessage error=change_error />
            <FormMessage error=remove_error />
            {move || {
                removed()
                    .map(|text| {
                        view! {
                            <p class="notice notice-ok" role="status">
                                {text}
                            </p>
                        }
                    })
            }}
        </section>
        {is_admin.then(|| view! { <Invitations org_id create withdraw invitations /> })}
    }
}

#[component]
fn Invitations(
    org_id: i64,
    create: ServerAction<CreateInvitation>,
    withdraw: ServerAction<WithdrawInvitation>,
    invitations: Resource<
        Result<Option<Vec<crate::api::orgs::InvitationView>>, crate::error::AppError>,
    >,
) -> impl IntoView {
    let create_error = action_error(create);
    let withdraw_error = action_error(withdraw);
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section aria-labelledby="invite-heading" class="panel">
            <h2 id="invite-heading">"Invite someone"</h2>
            <p>
                "Make a single-use link for the person you want to add. It works for 7 days. With an email address, only that person can use it, and it is emailed to them when email is set up."
            </p>
            <FormMessage error=create_error />
            <ActionForm action=create attr:class="inline-form">
                <input type="hidden" name="org_id" value=org_id.to_string() />
                <div class="field">
                    <label for="invite-role">"Role"</label>
                    <select
                        id="invite-role"
                        name="role"
                        aria-invalid=move || field_error(create_error, "role").get().map(|_| "true")
                    >
                        <option value="developer" selected=true>
                            "Developer: manages their own keys"
                        </option>
                        <option value="admin">"Admin: manages every key and the members"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="field-invite-email">"Email (optional)"</label>
                    <input
                        id="field-invite-email"
                        type="email"
                        name="email"
                        autocomplete="off"
                        aria-invalid=move || {
                            field_error(create_error, "email").get().map(|_| "true")
                        }
                    />
                    {move || {
                        field_error(create_error, "email")
                            .get()
                            .map(|m| view! { <p class="field-error">{m}</p> })
                    }}
                </div>
                <SubmitButton
                    label="Create invitation link"
                    busy_label="Creating…"
                    pending=create.pending()
                />
            </ActionForm>
            {move || created().map(|invite| view! { <InvitationLink invite /> })}
        </section>
        <section aria-labelledby="invitations-heading">
            <h2 id="invitations-heading">"Invitations"</h2>
            <FormMessage error=withdraw_error />
            <Transition fallback=|| {
                view! { <p role="status">"Loading invitations…"</p> }
            }>
                {move || Suspend::new(async move {
                    match invitations.await {
                        Err(err) => Either::Left(view! { <ErrorPanel error=err /> }.into_any()),
                        Ok(None) => Either::Left(().into_any()),
                        Ok(Some(list)) if list.is_empty() => {
                            Either::Left(
                                view! {
                                    <p class="empty">
                                        "No invitations yet. Links you make appear here, with who used them."
                                    </p>
                                }
                                    .into_any(),
                            )
                        }
                        Ok(Some(list)) => {
                            Either::Right(
                                view! {
                                    <table class="table">
                                        <caption class="visually-hidden">
                                            "Invitation links and their status"
                                        </caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Made by"</th>
                                                <th scope="col">"Expires"</th>
                                                <th scope="col">
                                                    <span class="visually-hidden">"Actions"</span>
                                                </th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|inv| {
                                                    view! {
                                                        <tr>
                                                            <td>{inv.role.label()}</td>
                                                            <td>
                                                                <span class=format!(
                                                                    "status status-{}",
                                                                    inv.status.label().to_lowercase(),
                                                                )>{inv.status.label()}</span>
                                                                {inv
                                                                    .email
                                                                    .clone()
                                                                    .map(|to| {
                                                                        view! {
                                                                            " for "
                                                                            {to}
                                                                        }
                                                                    })}
                                                                {inv
                                                                    .accepted_by
                                                                    .map(|who| {
                                                                        view! {
                                                                            " by "
                                                                            {who}
                                                                        }
                                                                    })}
                                                            </td>
                                                            <td>{inv.created_by}</td>
                                                            <td>
                                                                <time datetime=format::iso(
                                                                    inv.expires_at,
                                                                )>{format::date_time(inv.expires_at)}</time>
                                                            </td>
                                                            <td>
                                                                {(inv.status == InvitationStatus::Open)
                                                                    .then(|| {
                                                                        view! {
                                                                            <ActionForm action=withdraw>
                                                                                <input
                                                                                    type="hidden"
                                                                                    name="org_id"
                                                                                    value=org_id.to_string()
                                                                                />
                                                                                <input
                                                                                    type="hidden"
                                                                                    name="invitation_id"
                                                                                    value=inv.id.to_string()
                                                                                />
                                                                                <button type="submit" class="button-quiet">
                                                                                    "Withdraw"
                                                                                    <span class="visually-hidden">" this invitation"</span>
                                                                                </button>
                                                                            </ActionForm>
                                                                        }
                                                                    })}
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                }
                                    .into_any(),
                            )
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

/// A member, with the admin's role and removal controls.
#[component]
fn MemberRow(
    m: MemberView,
    org_id: i64,
    is_admin: bool,
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let other = if m.role == Role::Admin {
        Role::Developer
    } else {
        Role::Admin
    };
    let who = format!(" ({})", m.email);
    let confirm = format!("Remove {} from the organisation? Their keys keep working and are flagged “owner left” until you give them a new owner.", m.email);
    let remove_label = format!("Remove {}", m.email);
    let summary_label = format!(" {}", m.email);
    view! {
        <tr>
            <td>
                {m.email.clone()} {m.is_you.then(|| view! { <span class="badge">"You"</span> })}
            </td>
            <td>{m.role.label()}</td>
            <td>
                <time datetime=format::iso(m.joined_at)>{format::date(m.joined_at)}</time>
            </td>
            {m
                .second_factor
                .map(|on| {
                    view! {
                        <td>
                            {if on {
                                view! { <span class="badge badge-ok">"On"</span> }.into_any()
                            } else {
                                view! { <span class="badge badge-warn">"Off"</span> }.into_any()
                            }}
                        </td>
                    }
                })}
            {is_admin
                .then(|| {
                    view! {
                        <td class="member-actions">
                            <ActionForm action=change attr:class="inline-form">
                                <input type="hidden" name="org_id" value=org_id.to_string() />
                                <input type="hidden" name="user_id" value=m.user_id.to_string() />
                                <input type="hidden" name="role" value=other.as_str() />
                                <button type="submit" class="button-quiet">
                                    {format!("Make {}", other.label().to_lowercase())}
                                    <span class="visually-hidden">{who}</span>
                                </button>
                            </ActionForm>
                            <details class="action action-danger">
                                <summary>
                                    "Remove"<span class="visually-hidden">{summary_label}</span>
                                </summary>
                                <p>{confirm}</p>
                                <ActionForm action=remove>
                                    <input type="hidden" name="org_id" value=org_id.to_string() />
                                    <input
                                        type="hidden"
                                        name="user_id"
                                        value=m.user_id.to_string()
                                    />
                                    <button type="submit" class="button button-danger">
                                        {remove_label}
                                    </button>
                                </ActionForm>
                            </details>
                        </td>
                    }
                })}
        </tr>
    }
}

/// The new link, shown once, with a Copy button.
#[component]
fn InvitationLink(invite: NewInvitation) -> impl IntoView {
    let link = invite.link.clone();
    view! {
        <div class="secret-panel" role="region" aria-labelledby="new-invite-heading">
            <h3 id="new-invite-heading">
                "Invitation link for a new " {invite.role.label().to_lowercase()}
            </h3>
            <p>
                {match (&invite.email, invite.emailed) {
                    (Some(to), true) => format!("Emailed to {to}. Only {to} can use it. "),
                    (Some(to), false) => format!("Send this link to {to}; only they can use it. "),
                    (None, _) => "Send this link to one person. ".to_owned(),
                }} "It works once, until "
                <time datetime=format::iso(
                    invite.expires_at,
                )>{format::date_time(invite.expires_at)}</time> ". It will not be shown again."
            </p>
            <div class="copy-row">
                <label for="invite-link" class="visually-hidden">
                    "Invitation link"
                </label>
                <input
                    id="invite-link"
                    class="mono"
                    type="text"
                    readonly=true
                    value=invite.link.clone()
                    data-testid="invitation-link"
                    on:focus=move |ev| {
                        use leptos::wasm_bindgen::JsCast;
                        if let Some(input) = ev
                            .target()
                            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                        {
                            input.select();
                        }
                    }
                />
                <CopyButton text=link label="Copy link" announced="Link copied to the clipboard." />
            </div>
        </div>
    }
}
