-- Accounts of every virtual host live in one schema, told apart by their domain.
-- Names are stored prepared (RFC 7622), so equality is plain text equality.
CREATE TABLE accounts (
    domain     text        NOT NULL,
    localpart  text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart)
);

-- SCRAM credentials (RFC 5802), one row per hash. There is no password column, and
-- there never will be: PLAIN is verified by recomputing StoredKey.
CREATE TABLE scram_credentials (
    domain     text    NOT NULL,
    localpart  text    NOT NULL,
    hash       text    NOT NULL CHECK (hash IN ('sha1', 'sha256', 'sha512')),
    salt       bytea   NOT NULL,
    iterations integer NOT NULL CHECK (iterations > 0),
    stored_key bytea   NOT NULL,
    server_key bytea   NOT NULL,
    PRIMARY KEY (domain, localpart, hash),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
