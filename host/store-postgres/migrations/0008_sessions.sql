-- Switchboard schema version 8: console sessions, found by the hash of
-- their secret and listed by user.

CREATE TABLE sessions (
    id        text PRIMARY KEY,
    user_id   bigint NOT NULL,
    data      jsonb NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);
