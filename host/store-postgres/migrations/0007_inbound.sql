-- Switchboard schema version 7: conversations with customers who write
-- from outside (a WhatsApp number).
--
-- A customer has at most one open conversation per installation: the row
-- here names it, and is pointed at a new one once it ended. A received
-- message's key (WhatsApp's wamid) is kept with its place, so that a
-- retried delivery finds the first copy. The bytes of a message's files
-- live apart from the message, as a thread entry's do.

CREATE TABLE inbound_customers (
    team            text NOT NULL REFERENCES teams (slug),
    plugin          text NOT NULL,
    customer        text NOT NULL,
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    PRIMARY KEY (team, plugin, customer)
);

CREATE TABLE inbound_keys (
    team            text NOT NULL REFERENCES teams (slug),
    plugin          text NOT NULL,
    key             text NOT NULL,
    conversation_id bigint NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (team, plugin, key),
    FOREIGN KEY (conversation_id, seq) REFERENCES chat_messages (conversation_id, seq)
);

CREATE TABLE chat_attachments (
    conversation_id bigint NOT NULL,
    seq             bigint NOT NULL,
    idx             integer NOT NULL,
    data            bytea NOT NULL,
    PRIMARY KEY (conversation_id, seq, idx),
    FOREIGN KEY (conversation_id, seq) REFERENCES chat_messages (conversation_id, seq)
);
