//! `/organisations/new`.

use crate::{
    domain::org::MAX_ORG_NAME_CHARS,
    ui::{
        forms::{action_error, field_error, Field, FormMessage, SubmitButton},
        session::{signed_in, use_session},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Creates another organisation, with the user as its admin.
#[component]
pub fn NewOrgPage() -> impl IntoView {
    signed_in(|_me| {
        let action = use_session().create_org;
        let error = action_error(action);
        view! {
            <Title text="New organisation" />
            <section class="auth-card">
                <h1>"Create an organisation"</h1>
                <p class="lede">
                    "You will be its admin. You can invite colleagues once it exists."
                </p>
                <FormMessage error />
                <ActionForm action attr:novalidate=true attr:class="stack">
                    <Field
                        label="Organisation name"
                        name="name"
                        autocomplete="organization"
                        required=true
                        autofocus=true
                        maxlength=MAX_ORG_NAME_CHARS as u32
                        error=field_error(error, "name")
                    />
                    <SubmitButton
                        label="Create organisation"
                        busy_label="Creating…"
                        pending=action.pending()
                    />
                </ActionForm>
            </section>
        }
    })
}
