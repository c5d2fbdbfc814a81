//! Who is signed in, shared by every page, and the actions that change it.

use crate::{
    api::{
        account::{
            current_user, ConfirmEmail, Me, ResetPassword, SignIn, SignInCode, SignOut, SignUp,
        },
        orgs::{AcceptInvitation, CreateOrg, SwitchOrg},
        setup::CompleteSetup,
    },
    domain::next_path::encode_component,
    error::AppError,
};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

/// The signed-in user and every action after which it must be fetched again.
#[derive(Clone, Copy)]
pub struct SessionContext {
    /// Who is signed in (`None` when nobody is).
    pub me: Resource<Result<Option<Me>, AppError>>,
    /// Signs in with email and password, then goes to `next` or the dashboard.
    pub sign_in: ServerAction<SignIn>,
    /// The second step of signing in: a code from the authenticator app or
    /// a recovery code.
    pub sign_in_code: ServerAction<SignInCode>,
    /// Creates an account with a new organisation or through an invitation (signs nobody in).
    pub sign_up: ServerAction<SignUp>,
    /// Signs out; the session is deleted on the server.
    pub sign_out: ServerAction<SignOut>,
    /// Act in another organisation.
    pub switch_org: ServerAction<SwitchOrg>,
    /// Creates an organisation, makes the user its admin and acts in it.
    pub create_org: ServerAction<CreateOrg>,
    /// Join through an invitation.
    pub accept_invitation: ServerAction<AcceptInvitation>,
    /// Create the platform owner.
    pub complete_setup: ServerAction<CompleteSetup>,
    /// Confirms an address by its emailed link (the banner then goes).
    pub confirm_email: ServerAction<ConfirmEmail>,
    /// Sets a new password by an emailed link (every session ends).
    pub reset_password: ServerAction<ResetPassword>,
}

impl SessionContext {
    /// Creates the actions and the resource and provides them to the tree.
    pub fn provide() -> Self {
        let sign_in = ServerAction::<SignIn>::new();
        let sign_in_code = ServerAction::<SignInCode>::new();
        let sign_up = ServerAction::<SignUp>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let switch_org = ServerAction::<SwitchOrg>::new();
        let create_org = ServerAction::<CreateOrg>::new();
        let accept_invitation = ServerAction::<AcceptInvitation>::new();
        let complete_setup = ServerAction::<CompleteSetup>::new();
        let confirm_email = ServerAction::<ConfirmEmail>::new();
        let reset_password = ServerAction::<ResetPassword>::new();
        let me = Resource::new(
            move || {
                (
                    sign_in.version().get(),
                    sign_in_code.version().get(),
                    sign_up.version().get(),
                    sign_out.version().get(),
                    switch_org.version().get(),
                    create_org.version().get(),
                    accept_invitation.version().get(),
                    complete_setup.version().get(),
                    confirm_email.version().get(),
                    reset_password.version().get(),
                )
            },
            |_| current_user(),
        );
        let context = Self {
            me,
            sign_in,
            sign_in_code,
            sign_up,
            sign_out,
            switch_org,
            create_org,
            accept_invitation,
            complete_setup,
            confirm_email,
            reset_password,
        };
        provide_context(context);
        context
    }
}

/// The session context provided by `<App/>`.
pub fn use_session() -> SessionContext {
    expect_context::<SessionContext>()
}

/// Renders `page` for the signed-in user; sends anyone else to sign in and
/// back here afterwards.
pub fn signed_in<F, V>(page: F) -> impl IntoView
where
    F: Fn(Me) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let session = use_session();
    let location = use_location();
    view! {
        <Suspense fallback=|| {
            view! {
                <p class="loading" role="status">
                    "Loading…"
                </p>
            }
        }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match session.me.await {
                        Ok(
                            Some(me),
                        ) if !me.second_factor_required_by().is_empty()
                            && location.pathname.get_untracked() != "/account" => {
                            let path = "/account?two_factor=required#two-factor".to_owned();
                            Either::Right(
                                // An organisation requires a second factor: set
                                // it up before anything else.
                                view! { <Redirect path /> }
                                    .into_any(),
                            )
                        }
                        Ok(Some(me)) => Either::Left(page(me).into_any()),
                        Ok(None) => {
                            let here = format!(
                                "{}{}",
                                location.pathname.get_untracked(),
                                location.search.get_untracked(),
                            );
                            let path = format!("/signin?next={}", encode_component(&here));
                            Either::Right(view! { <Redirect path /> }.into_any())
                        }
                        Err(err) => {
                            Either::Left(
                                view! { <crate::ui::forms::ErrorPanel error=err /> }.into_any(),
                            )
                        }
                    }
                })
            }}
        </Suspense>
    }
}
