-- Switchboard schema version 1.
--
-- Every record is kept whole in a `data` column (the domain type as JSON),
-- so that reading one is a single row. The columns beside it are what
-- lists sort and filter on, and what uniqueness constraints hold: slugs,
-- aliases, external keys, contact points, token hashes and idempotency
-- keys are unique because the database refuses a second row, not because
-- a check ran before the write. Times are nanoseconds since 1970.

CREATE TABLE teams (
    slug  text PRIMARY KEY,
    alias text NOT NULL UNIQUE,
    data  jsonb NOT NULL
);

CREATE SEQUENCE contact_ids;
CREATE TABLE contacts (
    id   bigint PRIMARY KEY,
    data jsonb NOT NULL
);
-- An e-mail address (`e:…`) or phone number (`p:…`) belongs to one contact.
CREATE TABLE contact_points (
    point      text PRIMARY KEY,
    contact_id bigint NOT NULL REFERENCES contacts (id)
);

CREATE SEQUENCE ticket_ids;
-- No foreign key to teams: checking one locks the team's row FOR KEY SHARE
-- in every ticket write, and many writers sharing that lock make the
-- database write a multixact into the row for each. Teams are never
-- deleted, and a ticket write reads its team in the same transaction.
CREATE TABLE tickets (
    id           bigint PRIMARY KEY,
    team         text NOT NULL,
    priority     smallint NOT NULL,
    stage        bigint NOT NULL,
    created_ns   bigint NOT NULL,
    breached     boolean NOT NULL,
    -- The running SLA deadline, if any: what the breach sweep looks for.
    sla_due_ns   bigint,
    origin       text NOT NULL,
    external_key text,
    data         jsonb NOT NULL,
    -- Keys are unique per team and origin; tickets without one never meet.
    CONSTRAINT tickets_external_key UNIQUE (team, origin, external_key)
);
CREATE INDEX tickets_list ON tickets (team, priority DESC, created_ns, id);
CREATE INDEX tickets_stage ON tickets (team, stage);
CREATE INDEX tickets_sla_due ON tickets (sla_due_ns) WHERE sla_due_ns IS NOT NULL;

CREATE SEQUENCE message_ids;
CREATE TABLE messages (
    id        bigint PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    data      jsonb NOT NULL
);
CREATE INDEX messages_thread ON messages (ticket_id, id);

CREATE SEQUENCE user_ids;
CREATE TABLE users (
    id         bigint PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    data       jsonb NOT NULL
);

CREATE TABLE plugins (
    id   text PRIMARY KEY,
    data jsonb NOT NULL,
    code bytea NOT NULL
);

CREATE TABLE installations (
    team   text NOT NULL REFERENCES teams (slug),
    plugin text NOT NULL REFERENCES plugins (id),
    data   jsonb NOT NULL,
    PRIMARY KEY (team, plugin)
);

-- Plugin storage; keys sort in byte order, as the WIT promises.
CREATE TABLE plugin_kv (
    team   text NOT NULL,
    plugin text NOT NULL,
    key    text COLLATE "C" NOT NULL,
    value  bytea NOT NULL,
    PRIMARY KEY (team, plugin, key)
);
-- How many keys each installation holds, locked by every writer that adds
-- one, so that the limit holds under concurrent writers.
CREATE TABLE plugin_kv_counts (
    team   text NOT NULL,
    plugin text NOT NULL,
    keys   bigint NOT NULL,
    PRIMARY KEY (team, plugin)
);

CREATE TABLE idempotency (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      integer NOT NULL,
    body        bytea NOT NULL,
    expires_ns  bigint NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expiry ON idempotency (expires_ns);
