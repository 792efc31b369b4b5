-- Switchboard schema version 2: jobs, claimed with leases.
--
-- `due_ns` is when a pending job may be claimed next: its due time, or
-- the end of its lease. A claim takes due, pending rows with
-- `FOR UPDATE SKIP LOCKED`, so concurrent claimers (several servers) never
-- wait for each other and never take one job twice.

CREATE SEQUENCE job_ids;
CREATE TABLE jobs (
    id             bigint PRIMARY KEY,
    queue          text NOT NULL,
    key            text NOT NULL,
    payload        bytea NOT NULL,
    due_ns         bigint NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    -- 'pending', 'done' or 'failed'.
    state          text NOT NULL,
    failure        text,
    holder         text,
    lease_until_ns bigint,
    created_ns     bigint NOT NULL,
    updated_ns     bigint NOT NULL,
    CONSTRAINT jobs_key UNIQUE (queue, key)
);
CREATE INDEX jobs_due ON jobs (queue, due_ns, id) WHERE state = 'pending';
