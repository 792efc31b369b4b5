-- Switchboard schema version 5: live conversations and their messages.
--
-- A conversation's state and visitor token are columns of their own so
-- that a team's waiting conversations are one index range and a token is
-- unique; the rest of the record is JSON, as elsewhere. A message's
-- number is its place in its conversation, given in the write that adds
-- it under the conversation's row lock.

CREATE SEQUENCE conversation_ids;
CREATE TABLE conversations (
    id         bigint PRIMARY KEY,
    team       text NOT NULL REFERENCES teams (slug),
    state      text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    data       jsonb NOT NULL
);
CREATE INDEX conversations_by_state ON conversations (team, state, id);

CREATE TABLE chat_messages (
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    seq             bigint NOT NULL,
    data            jsonb NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
