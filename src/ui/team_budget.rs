//! The team budget the run goes through (`data-testid="team-budget"`):
//! shown once a team-budget proxy answered, with the team's rate, how long
//! the proxy held requests (which the latency figures leave out), and when
//! the proxy paces alone because Redis is away.

use leptos::prelude::*;

use crate::run::RunHandle;

/// One line under the figures while the run goes through a team budget.
#[component]
pub fn TeamBudget() -> impl IntoView {
    let run = expect_context::<RunHandle>();
    let team = run.team;
    let local = move || {
        team.with(|t| {
            t.as_ref()
                .is_some_and(|t| matches!(t.mode, pacer_core::api::TeamMode::Local { .. }))
        })
    };
    view! {
        <Show when=move || team.with(Option::is_some)>
            <p
                class="team-budget"
                class:team-budget-local=local
                data-testid="team-budget"
                title="A pacer-proxy holds this run's requests to one budget shared with other machines"
            >
                {move || team.with(|t| t.as_ref().map(|t| t.text()).unwrap_or_default())}
            </p>
        </Show>
    }
}
