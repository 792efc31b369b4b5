-- Switchboard schema version 4: the content of thread entries' files.
--
-- An entry lists its files in its own record (name, type, size, whether
-- it was kept); the bytes of a kept file live here, apart, so that reading
-- a thread does not read its files. A file is found by its entry and its
-- place in the entry's list.

CREATE TABLE attachments (
    message_id bigint NOT NULL REFERENCES messages (id),
    idx        integer NOT NULL,
    data       bytea NOT NULL,
    PRIMARY KEY (message_id, idx)
);
