//! The sled trees, named by a type so that a tree is never picked by a
//! bare index.

/// One sled tree. A transaction sees every tree in [`Tree::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Tree {
    /// The schema version and the id sequences.
    Meta,
    /// Teams by slug.
    Teams,
    /// Team slugs by alias.
    Aliases,
    /// Tickets by id.
    Tickets,
    /// A team's tickets in list order.
    TicketOrder,
    /// Tickets per stage.
    StageCounts,
    /// Running SLA deadlines by due time.
    SlaDue,
    /// Threads: messages by ticket and id.
    Messages,
    /// Contacts by id.
    Contacts,
    /// Contact ids by e-mail address or phone number.
    ContactKeys,
    /// Users by id.
    Users,
    /// User ids by token hash.
    Tokens,
    /// Plugin records by id.
    Plugins,
    /// Plugin components by id.
    PluginCode,
    /// Installations by team and plugin.
    Installations,
    /// Plugin storage by team, plugin and key.
    PluginKv,
    /// Ticket ids by team, origin and external key.
    ExternalKeys,
    /// How many keys each installation's storage holds.
    KvCounts,
    /// Idempotency records by scope and key.
    Idempotency,
    /// Idempotency keys by expiry time.
    IdempotencyExpiry,
    /// Jobs by id.
    Jobs,
    /// Job ids by queue and key.
    JobKeys,
    /// Pending jobs by queue and the time they may be claimed next.
    JobDue,
    /// Jobs that failed for good, by queue and key, so that listing them
    /// does not read a queue's whole history.
    JobFailed,
    /// The content of thread entries' files, by entry and place; kept apart
    /// from the entries so that reading a thread does not read its files.
    Attachments,
    /// Live conversations by id.
    Conversations,
    /// Conversation messages by conversation and sequence number.
    ChatMessages,
    /// Conversation ids by the hash of their visitor token.
    ConversationTokens,
    /// A team's conversations by state, then id.
    ConversationStates,
    /// Operators' presence by team, chat channel and user.
    Presence,
    /// The open conversation of each customer who writes from outside,
    /// by team, plugin and the customer's address.
    InboundCustomers,
    /// The place of each message received from outside, by team, plugin
    /// and the channel's key for it: a retried delivery finds it here.
    InboundKeys,
    /// Console sessions by id (the hash of their secret).
    Sessions,
    /// Session ids by user, then id.
    UserSessions,
}

impl Tree {
    /// Every tree, in the order transactions see them.
    pub(crate) const ALL: [Tree; 34] = [
        Tree::Meta,
        Tree::Teams,
        Tree::Aliases,
        Tree::Tickets,
        Tree::TicketOrder,
        Tree::StageCounts,
        Tree::SlaDue,
        Tree::Messages,
        Tree::Contacts,
        Tree::ContactKeys,
        Tree::Users,
        Tree::Tokens,
        Tree::Plugins,
        Tree::PluginCode,
        Tree::Installations,
        Tree::PluginKv,
        Tree::ExternalKeys,
        Tree::KvCounts,
        Tree::Idempotency,
        Tree::IdempotencyExpiry,
        Tree::Jobs,
        Tree::JobKeys,
        Tree::JobDue,
        Tree::JobFailed,
        Tree::Attachments,
        Tree::Conversations,
        Tree::ChatMessages,
        Tree::ConversationTokens,
        Tree::ConversationStates,
        Tree::Presence,
        Tree::InboundCustomers,
        Tree::InboundKeys,
        Tree::Sessions,
        Tree::UserSessions,
    ];

    /// The tree's name in the sled database.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Teams => "teams",
            Tree::Aliases => "aliases",
            Tree::Tickets => "tickets",
            Tree::TicketOrder => "ticket_order",
            Tree::StageCounts => "stage_counts",
            Tree::SlaDue => "sla_due",
            Tree::Messages => "messages",
            Tree::Contacts => "contacts",
            Tree::ContactKeys => "contact_keys",
            Tree::Users => "users",
            Tree::Tokens => "tokens",
            Tree::Plugins => "plugins",
            Tree::PluginCode => "plugin_code",
            Tree::Installations => "installations",
            Tree::PluginKv => "plugin_kv",
            Tree::ExternalKeys => "external_keys",
            Tree::KvCounts => "kv_counts",
            Tree::Idempotency => "idempotency",
            Tree::IdempotencyExpiry => "idempotency_expiry",
            Tree::Jobs => "jobs",
            Tree::JobKeys => "job_keys",
            Tree::JobDue => "job_due",
            Tree::JobFailed => "job_failed",
            Tree::Attachments => "attachments",
            Tree::Conversations => "conversations",
            Tree::ChatMessages => "chat_messages",
            Tree::ConversationTokens => "conversation_tokens",
            Tree::ConversationStates => "conversation_states",
            Tree::Presence => "presence",
            Tree::InboundCustomers => "inbound_customers",
            Tree::InboundKeys => "inbound_keys",
            Tree::Sessions => "sessions",
            Tree::UserSessions => "user_sessions",
        }
    }

    /// Its place in [`Tree::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The id sequences kept in [`Tree::Meta`], one scheme for every record
/// that gets a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// Ticket numbers.
    Ticket,
    /// Contact ids.
    Contact,
    /// User ids.
    User,
    /// Message ids.
    Message,
    /// Job ids.
    Job,
    /// Conversation ids.
    Conversation,
}

impl Sequence {
    /// Every sequence, at its index.
    pub(crate) const ALL: [Sequence; 6] =
        [Sequence::Ticket, Sequence::Contact, Sequence::User, Sequence::Message, Sequence::Job, Sequence::Conversation];

    /// Its key in [`Tree::Meta`]: the first id not yet reserved (see
    /// `sequences`).
    pub(crate) fn key(self) -> &'static [u8] {
        match self {
            Sequence::Ticket => b"next:ticket",
            Sequence::Contact => b"next:contact",
            Sequence::User => b"next:user",
            Sequence::Message => b"next:message",
            Sequence::Job => b"next:job",
            Sequence::Conversation => b"next:conversation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tree_is_listed_once_at_its_index() {
        for (i, tree) in Tree::ALL.iter().enumerate() {
            assert_eq!(tree.index(), i, "{tree:?}");
        }
        let mut names: Vec<_> = Tree::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Tree::ALL.len());
    }
}
