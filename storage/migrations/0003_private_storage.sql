-- Private XML storage (XEP-0049): one row per stored element, keyed like the element
-- itself by its name and namespace, so "storage:bookmarks" and "exodus:prefs" (or two
-- differently named elements of one namespace) are kept apart. `xml` is the element
-- serialized with its own xmlns declaration, ready to parse back as it was sent.
CREATE TABLE private_storage (
    domain     text        NOT NULL,
    localpart  text        NOT NULL,
    name       text        NOT NULL,
    xmlns      text        NOT NULL,
    xml        text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart, name, xmlns),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);
