//! The activation scheduler: a task of the server that makes approved drafts the active
//! version when their `activate_on` day (Asia/Shanghai) has come. It checks once at start-up
//! (activating what fell due while the server was down, or what a crash left approved) and
//! then every [`ACTIVATION_CHECK_PERIOD`], so a draft goes live within a minute after
//! midnight in Shanghai. "Now" is the application's clock ([`super::App::clock`]), so tests
//! drive it with a manual clock.

use super::AppState;
use crate::review::Review;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// How often the scheduler looks for due activations.
pub const ACTIVATION_CHECK_PERIOD: Duration = Duration::from_secs(60);

/// Starts the scheduler on the current tokio runtime: a check now, then one every `every`.
/// It runs until the task is aborted or the runtime stops.
pub fn spawn_activation_scheduler(state: AppState, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let state = state.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || activate_due(&state)).await {
                tracing::error!(%e, "the activation check stopped unexpectedly");
            }
        }
    })
}

/// One check: activates every due draft and logs what happened.
fn activate_due(state: &AppState) {
    let review = Review {
        registry: &state.registry,
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
    };
    match review.activate_due() {
        Ok(outcomes) => {
            for outcome in outcomes {
                match outcome {
                    Ok(decided) => tracing::info!(
                        draft = decided.draft.id,
                        ruleset = %decided.draft.ruleset_id,
                        "scheduled draft activated"
                    ),
                    Err(e) => tracing::warn!(%e, "a scheduled draft could not be activated"),
                }
            }
        }
        Err(e) => tracing::error!(%e, "cannot list the approved drafts"),
    }
}
