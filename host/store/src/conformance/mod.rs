//! The conformance suite: the tests every backend must pass, written once
//! against the store traits.
//!
//! A backend implements [`Harness`] (how to open a fresh, empty store and
//! how to restart one on the same data) and expands
//! [`conformance_tests!`](crate::conformance_tests) in a test file of its
//! own, which makes one `#[tokio::test]` per test here:
//!
//! ```ignore
//! switchboard_store::conformance_tests!(my_backend::TestHarness);
//! ```

mod attachments;
mod contacts;
mod conversations;
mod delivery;
mod idempotency;
mod inbound;
mod jobs;
mod kv;
mod plugins;
mod presence;
mod robot_runs;
mod sessions;
mod teams;
mod tickets;
mod timers;
mod triggers;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::SignedDuration;
use switchboard_core::{Author, ContactDraft, Email, PointKind, Priority, Team, TeamDraft, TicketDraft, Timestamp};

use crate::{Committed, Store, StoreError};

pub use attachments::*;
pub use contacts::*;
pub use conversations::*;
pub use delivery::*;
pub use idempotency::*;
pub use inbound::*;
pub use jobs::*;
pub use kv::*;
pub use plugins::*;
pub use presence::*;
pub use robot_runs::*;
pub use sessions::*;
pub use teams::*;
pub use tickets::*;
pub use timers::*;
pub use triggers::*;
pub use users::*;

/// A backend under test.
#[async_trait]
pub trait Harness: Sized + Send + Sync + 'static {
    /// Opens a fresh, empty store, keeping whatever it needs (a temporary
    /// directory, a database) for as long as the harness lives.
    async fn new() -> Self;

    /// The store. Tests drop what this returns before they call
    /// [`Harness::restart`].
    fn store(&self) -> Arc<dyn Store>;

    /// Closes the store and opens the same data again, as a restarted
    /// server does.
    async fn restart(&mut self);
}

/// Expands to one `#[tokio::test]` per conformance test, run against the
/// backend that `$harness` (a [`Harness`]) opens.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:ty) => {
        $crate::conformance_tests!(@each $harness:
            slugs_and_aliases_are_unique,
            team_edits_are_kept_and_read_back,
            stage_with_tickets_cannot_be_removed,
            no_ticket_enters_a_stage_while_it_is_removed,
            lists_sort_by_priority_then_age_and_follow_changes,
            overdue_tickets_are_breached_once,
            external_keys_are_unique_per_team_and_origin,
            external_keys_are_found_after_a_restart,
            concurrent_creates_with_one_external_key_make_one_ticket,
            create_or_get_returns_the_existing_ticket,
            a_ticket_edit_changes_everything_or_nothing,
            reopening_keeps_data_and_continues_ids,
            contacts_are_found_by_email_or_phone_and_never_duplicated,
            users_are_found_by_token_hash,
            a_users_teams_and_token_change_together,
            sessions_are_kept_listed_and_ended_by_their_user,
            installations_follow_every_change,
            plugins_in_use_cannot_be_removed,
            storage_is_private_to_each_installation,
            storage_key_limit_holds_under_concurrent_writers,
            set_if_absent_has_exactly_one_winner,
            idempotent_writes_are_made_once_and_answered_alike,
            idempotency_keys_expire,
            idempotency_records_survive_a_restart,
            jobs_are_enqueued_once_per_key,
            each_job_is_claimed_by_one_worker,
            an_expired_lease_is_taken_over,
            retried_jobs_come_back_and_failed_ones_do_not,
            a_retry_with_a_new_payload_counts_claims_afresh,
            jobs_survive_a_restart,
            bad_job_names_are_refused_and_a_lapsed_lease_cannot_finish,
            a_held_job_is_its_enqueuers_until_the_lease_ends,
            failed_jobs_are_listed_and_can_run_again,
            added_keys_find_the_ticket_and_stay_unique,
            an_entry_and_its_delivery_job_are_written_together,
            a_refused_delivery_leaves_no_entry,
            provider_reports_on_an_entry_only_move_it_forward,
            attachments_are_listed_and_read_back,
            a_bad_file_refuses_the_whole_entry,
            conversations_number_messages_and_resume_after_a_restart,
            concurrent_speakers_get_consecutive_numbers,
            conversation_states_are_listed_per_team_and_follow_changes,
            conversation_rules_and_tokens_are_enforced,
            a_conversation_becomes_one_ticket_with_its_contact,
            a_customer_has_one_open_conversation_and_a_retry_is_kept_once,
            concurrent_deliveries_make_one_message_and_one_conversation,
            inbound_files_are_kept_and_read_back,
            delivery_reports_only_move_forward,
            operators_are_online_for_thirty_minutes_after_a_heartbeat,
            a_scheduled_job_runs_once_at_the_time_set_last,
            a_cancelled_job_does_not_run,
            a_stage_entry_enqueues_its_robots_and_a_leave_cancels_them,
            a_cancelled_run_takes_its_chain_and_a_new_entry_starts_afresh,
            events_move_tickets_through_triggers,
            a_conversation_that_ends_moves_its_ticket,
            automatic_moves_in_a_row_are_bounded
        );
    };
    (@each $harness:ty: $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name::<$harness>().await;
            }
        )*
    };
}

/// A fixed point in time, `hours` after a day in 2020.
pub(crate) fn at(hours: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50 + hours)
}

/// A new team named `name`.
pub(crate) fn team(name: &str) -> Team {
    Team::new(TeamDraft { name: name.into(), ..TeamDraft::default() }, at(0)).expect("team")
}

/// A draft from the API with this title and priority.
pub(crate) fn draft(title: &str, priority: Priority) -> TicketDraft {
    TicketDraft { title: title.into(), priority: Some(priority), origin: "api".into(), ..TicketDraft::default() }
}

/// A contact known by one work address.
pub(crate) fn email(address: &str) -> ContactDraft {
    ContactDraft { emails: vec![Email { address: address.into(), kind: PointKind::Work }], ..ContactDraft::default() }
}

/// Waits for a write to be durable.
pub(crate) async fn durable<T>(write: Result<Committed<T>, StoreError>) -> T {
    write.expect("write").durable().await.expect("durable")
}

/// Creates the team `name` and waits for it to be durable.
pub(crate) async fn with_team(store: &dyn Store, name: &str) -> Team {
    durable(store.create_team(team(name), None).await).await
}

/// Opens a ticket in `slug` from the API.
pub(crate) async fn open_ticket(store: &dyn Store, slug: &str, title: &str) -> switchboard_core::Ticket {
    durable(store.create_ticket(slug, draft(title, Priority::Low), None, Author::System, at(0), None).await).await
}
