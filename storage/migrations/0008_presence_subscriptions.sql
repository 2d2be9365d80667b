-- Inbound presence-subscription requests the user has not answered yet (RFC 6121
-- §3.1.3: the "Pending In" half of a subscription state). Kept apart from roster items
-- because a request from a stranger must not create a roster item; the stanza itself
-- is kept so that it can be delivered again, status text and all, at the next login.
CREATE TABLE presence_requests (
    domain      text        NOT NULL,
    localpart   text        NOT NULL,
    contact     text        NOT NULL,  -- the requester's bare JID, prepared
    stanza      text        NOT NULL,  -- the <presence type='subscribe'/> as received
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart, contact),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
