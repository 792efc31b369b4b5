-- Switchboard schema version 3: every key a ticket is found by, and an
-- index of jobs that failed for good.
--
-- A ticket's first external key stays on its row; `ticket_keys` holds it
-- again together with the keys added later (an e-mail thread's
-- Message-IDs), so that one constraint keeps every key of a team and
-- origin on one ticket, and a look-up reads one index.

CREATE TABLE ticket_keys (
    team   text NOT NULL,
    origin text NOT NULL,
    key    text NOT NULL,
    ticket bigint NOT NULL,
    PRIMARY KEY (team, origin, key)
);
INSERT INTO ticket_keys (team, origin, key, ticket)
    SELECT team, origin, external_key, id FROM tickets WHERE external_key IS NOT NULL;

CREATE INDEX jobs_failed ON jobs (queue, key text_pattern_ops) WHERE state = 'failed';
