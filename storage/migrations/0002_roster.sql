-- Rosters (RFC 6121 §2) with roster versioning (§2.6). Each account has one version
-- counter, bumped by every change; an item remembers the version of its last change
-- and a removed item leaves a tombstone with the version of its removal, so the
-- changes after any version a client holds can be computed.
CREATE TABLE roster_versions (
    domain    text   NOT NULL,
    localpart text   NOT NULL,
    version   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, localpart),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

CREATE TABLE roster_items (
    domain       text    NOT NULL,
    localpart    text    NOT NULL,
    contact      text    NOT NULL,  -- the item's JID, prepared (RFC 7622)
    name         text,
    subscription text    NOT NULL DEFAULT 'none'
                         CHECK (subscription IN ('none', 'to', 'from', 'both')),
    ask          text    CHECK (ask = 'subscribe'),
    approved     boolean NOT NULL DEFAULT false,
    groups       text[]  NOT NULL DEFAULT '{}',
    version      bigint  NOT NULL,
    PRIMARY KEY (domain, localpart, contact),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

CREATE TABLE roster_tombstones (
    domain    text   NOT NULL,
    localpart text   NOT NULL,
    contact   text   NOT NULL,
    version   bigint NOT NULL,
    PRIMARY KEY (domain, localpart, contact),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
