-- Offline messages (XEP-0160): stanzas for an account that had no available resource,
-- kept in arrival order (id) until a session acknowledges their delivery.
CREATE TABLE offline_messages (
    id        bigserial   PRIMARY KEY,
    domain    text        NOT NULL,
    localpart text        NOT NULL,
    xml       text        NOT NULL,  -- the <message/>, delay-stamped, serialized
    stored_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
CREATE INDEX offline_messages_account ON offline_messages (domain, localpart, id);

-- Last activity (XEP-0012 §4): when the account's last available resource went away,
-- and the <status/> of its unavailable presence.
CREATE TABLE last_activity (
    domain    text        NOT NULL,
    localpart text        NOT NULL,
    logout_at timestamptz NOT NULL,
    status    text        NOT NULL DEFAULT '',
    PRIMARY KEY (domain, localpart),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
