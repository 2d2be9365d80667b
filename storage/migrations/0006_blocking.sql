-- Blocking Command (XEP-0191): the JIDs each account blocks, one row per item, as
-- the prepared JID text (user@domain/resource, user@domain, domain/resource, domain).
-- The server loads every row at start-up into memory, where the checks happen.
CREATE TABLE blocklist_items (
    domain     text        NOT NULL,
    localpart  text        NOT NULL,
    jid        text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart, jid),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
