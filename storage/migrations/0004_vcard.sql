-- vcard-temp (XEP-0054): at most one vCard per account, the <vCard/> element
-- serialized as the owner last set it (no partial updates exist in the protocol).
CREATE TABLE vcards (
    domain     text        NOT NULL,
    localpart  text        NOT NULL,
    xml        text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
