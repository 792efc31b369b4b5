//! Key layouts. Every key is built here so that the orderings that scans
//! rely on are written down once.

use switchboard_core::{Priority, StageId, TicketId, Timestamp};

/// A big-endian id, so that keys sort by id.
pub(crate) fn id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Reads a big-endian id back.
pub(crate) fn read_id(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}

/// A timestamp as milliseconds with the sign bit flipped, so that
/// big-endian bytes sort in time order, also before 1970.
fn time(t: Timestamp) -> [u8; 8] {
    ((t.as_millisecond() as u64) ^ (1 << 63)).to_be_bytes()
}

/// The prefix of a team's entries in per-team indexes. Slugs never
/// contain a zero byte, so the prefix of one team never covers another's.
pub(crate) fn team_prefix(slug: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(slug.len() + 1);
    k.extend_from_slice(slug.as_bytes());
    k.push(0);
    k
}

/// A job's entry in its queue's key index. Queue names never contain a
/// zero byte (see `JobDraft::check`).
pub(crate) fn job_key(queue: &str, key: &str) -> Vec<u8> {
    let mut k = team_prefix(queue);
    k.extend_from_slice(key.as_bytes());
    k
}

/// A pending job's place in its queue: by when it may be claimed next.
pub(crate) fn job_due(queue: &str, due: Timestamp, job: u64) -> Vec<u8> {
    let mut k = team_prefix(queue);
    k.extend_from_slice(&time(due));
    k.extend_from_slice(&id(job));
    k
}

/// The upper bound of a queue's jobs due by `now`.
pub(crate) fn job_due_until(queue: &str, now: Timestamp) -> Vec<u8> {
    let mut k = team_prefix(queue);
    k.extend_from_slice(&time(now));
    k.extend_from_slice(&[0xff; 8]);
    k
}

/// A ticket's place in its team's list: highest priority first, then
/// oldest, then lowest id.
pub(crate) fn ticket_order(slug: &str, priority: Priority, created: Timestamp, ticket: TicketId) -> Vec<u8> {
    let mut k = team_prefix(slug);
    k.push(3 - priority.stars());
    k.extend_from_slice(&time(created));
    k.extend_from_slice(&id(ticket));
    k
}

/// The counter of tickets in a stage.
pub(crate) fn stage_count(slug: &str, stage: StageId) -> Vec<u8> {
    let mut k = team_prefix(slug);
    k.extend_from_slice(&stage.to_be_bytes());
    k
}

/// A running SLA deadline, ordered by due time.
pub(crate) fn sla_due(deadline: Timestamp, ticket: TicketId) -> Vec<u8> {
    let mut k = time(deadline).to_vec();
    k.extend_from_slice(&id(ticket));
    k
}

/// The upper bound of deadlines due by `now`.
pub(crate) fn sla_due_until(now: Timestamp) -> Vec<u8> {
    let mut k = time(now).to_vec();
    k.extend_from_slice(&[0xff; 8]);
    k
}

/// An idempotency record: the caller's scope, then the key. Scopes never
/// contain a zero byte.
pub(crate) fn idempotency(scope: &str, key: &str) -> Vec<u8> {
    let mut k = team_prefix(scope);
    k.extend_from_slice(key.as_bytes());
    k
}

/// An idempotency record in the expiry index, ordered by expiry time.
pub(crate) fn idempotency_expiry(expires: Timestamp, record: &[u8]) -> Vec<u8> {
    let mut k = time(expires).to_vec();
    k.extend_from_slice(record);
    k
}

/// The upper bound of expiry entries due by `now`.
pub(crate) fn idempotency_expired_by(now: Timestamp) -> Vec<u8> {
    time(now).to_vec()
}

/// The ticket id at the end of an `sla_due` key.
pub(crate) fn sla_due_ticket(key: &[u8]) -> Option<TicketId> {
    key.get(8..16).and_then(read_id)
}

/// A file of a thread entry: the entry's id (unique across tickets), then
/// the file's place in the entry's list.
pub(crate) fn attachment(message: u64, index: usize) -> [u8; 10] {
    let mut k = [0; 10];
    k[..8].copy_from_slice(&id(message));
    // Core caps an entry's files far below 65,536.
    k[8..].copy_from_slice(&u16::try_from(index).unwrap_or(u16::MAX).to_be_bytes());
    k
}

/// The key of a thread entry: its ticket, then its id, so that a thread is
/// one prefix scan.
pub(crate) fn message(ticket: TicketId, message: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&id(ticket));
    k[8..].copy_from_slice(&id(message));
    k
}

/// The index entry of a contact's e-mail address.
pub(crate) fn contact_email(address: &str) -> Vec<u8> {
    [b"e:", address.as_bytes()].concat()
}

/// The index entry of a contact's phone number.
pub(crate) fn contact_phone(number: &str) -> Vec<u8> {
    [b"p:", number.as_bytes()].concat()
}

/// A plugin's installation in a team.
pub(crate) fn installation(slug: &str, plugin: &str) -> Vec<u8> {
    let mut k = team_prefix(slug);
    k.extend_from_slice(plugin.as_bytes());
    k
}

/// A key in an installation's storage. Plugin ids never contain a zero
/// byte, so one installation's keys never cover another's.
pub(crate) fn plugin_kv(slug: &str, plugin: &str, key: &str) -> Vec<u8> {
    let mut k = installation(slug, plugin);
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// A ticket's external key, unique per team and origin.
pub(crate) fn external_key(slug: &str, origin: &str, key: &str) -> Vec<u8> {
    let mut k = team_prefix(slug);
    k.extend_from_slice(origin.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// A conversation message: the conversation, then its sequence number, so
/// that what came after a number is one range scan.
pub(crate) fn chat_message(conversation: u64, seq: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&id(conversation));
    k[8..].copy_from_slice(&id(seq));
    k
}

/// A file of a conversation message: a marker byte (so that no thread
/// entry's 10-byte key is ever one), the conversation, the message's
/// number, then the file's place in its list.
pub(crate) fn chat_attachment(conversation: u64, seq: u64, index: usize) -> [u8; 19] {
    let mut k = [0; 19];
    k[0] = b'c';
    k[1..9].copy_from_slice(&id(conversation));
    k[9..17].copy_from_slice(&id(seq));
    k[17..].copy_from_slice(&u16::try_from(index).unwrap_or(u16::MAX).to_be_bytes());
    k
}

/// A customer's address, or a received message's key, in an installation:
/// plugin ids never contain a zero byte, so one installation's entries
/// never cover another's.
pub(crate) fn inbound(slug: &str, plugin: &str, value: &str) -> Vec<u8> {
    plugin_kv(slug, plugin, value)
}

/// The prefix of a team's conversations in one state.
pub(crate) fn conversation_state_prefix(team: &str, state: switchboard_core::ConversationState) -> Vec<u8> {
    use switchboard_core::ConversationState as S;
    let code = match state {
        S::Bot => 0,
        S::Waiting => 1,
        S::WithOperator => 2,
        S::Ended => 3,
    };
    let mut k = Vec::with_capacity(team.len() + 10);
    k.extend_from_slice(team.as_bytes());
    // A slug has no NUL, so one team's keys never run into another's.
    k.push(0);
    k.push(code);
    k
}

/// A team's conversation in one state.
pub(crate) fn conversation_state(team: &str, state: switchboard_core::ConversationState, conversation: u64) -> Vec<u8> {
    let mut k = conversation_state_prefix(team, state);
    k.extend_from_slice(&id(conversation));
    k
}

/// The prefix of the operators in a team's chat channel.
pub(crate) fn presence_prefix(team: &str, channel: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(team.len() + channel.len() + 10);
    k.extend_from_slice(team.as_bytes());
    k.push(0);
    // A channel name has no control characters, so no NUL ends it early.
    k.extend_from_slice(channel.as_bytes());
    k.push(0);
    k
}

/// An operator in a team's chat channel.
pub(crate) fn presence(team: &str, channel: &str, user: u64) -> Vec<u8> {
    let mut k = presence_prefix(team, channel);
    k.extend_from_slice(&id(user));
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn ticket_order_sorts_like_the_domain_rule() {
        let t0 = Timestamp::UNIX_EPOCH - SignedDuration::from_hours(1);
        let t1 = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1);
        let mut keys = [
            (ticket_order("a", Priority::Low, t0, 1), "low old"),
            (ticket_order("a", Priority::Urgent, t1, 2), "urgent new"),
            (ticket_order("a", Priority::Urgent, t0, 3), "urgent old"),
            (ticket_order("a", Priority::Medium, t1, 4), "medium new"),
        ];
        keys.sort();
        let order: Vec<_> = keys.iter().map(|(_, n)| *n).collect();
        assert_eq!(order, ["urgent old", "urgent new", "medium new", "low old"]);
    }

    #[test]
    fn team_prefixes_do_not_overlap() {
        assert!(!ticket_order("ab", Priority::Low, Timestamp::UNIX_EPOCH, 1).starts_with(&team_prefix("a")));
    }
}
