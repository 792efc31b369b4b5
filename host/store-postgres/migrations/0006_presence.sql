-- Switchboard schema version 6: operators' presence in chat channels, one
-- row per team, channel and user, shared by every server.

CREATE TABLE operator_presence (
    team      text NOT NULL REFERENCES teams (slug),
    channel   text NOT NULL,
    user_id   bigint NOT NULL,
    data      jsonb NOT NULL,
    PRIMARY KEY (team, channel, user_id)
);
