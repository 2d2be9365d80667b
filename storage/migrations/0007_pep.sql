-- Personal Eventing Protocol (XEP-0163): each account's PubSub nodes and their items.
-- A node's configuration is a handful of XEP-0060 node_config options, one column
-- each, so they can be checked by the database and read without a parser.
CREATE TABLE pep_nodes (
    domain                   text    NOT NULL,
    localpart                text    NOT NULL,
    node                     text    NOT NULL,
    access_model             text    NOT NULL CHECK (access_model IN ('open', 'presence', 'whitelist')),
    persist_items            boolean NOT NULL,
    max_items                bigint  NOT NULL CHECK (max_items >= 1),
    send_last_published_item text    NOT NULL
                                     CHECK (send_last_published_item IN ('never', 'on_sub', 'on_sub_and_presence')),
    deliver_notifications    boolean NOT NULL,
    deliver_payloads         boolean NOT NULL,
    notify_retract           boolean NOT NULL,
    notify_delete            boolean NOT NULL,
    title                    text    NOT NULL DEFAULT '',
    description              text    NOT NULL DEFAULT '',
    created_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (domain, localpart, node),
    FOREIGN KEY (domain, localpart) REFERENCES accounts (domain, localpart) ON DELETE CASCADE
);

-- Items in publication order: `seq` comes from one sequence, and publishing an existing
-- item id again takes a new value, so it becomes the newest item.
CREATE SEQUENCE pep_item_seq;
CREATE TABLE pep_items (
    domain       text        NOT NULL,
    localpart    text        NOT NULL,
    node         text        NOT NULL,
    item_id      text        NOT NULL,
    payload      text        NOT NULL,  -- the payload element, serialized with its xmlns
    published_at timestamptz NOT NULL DEFAULT now(),
    seq          bigint      NOT NULL DEFAULT nextval('pep_item_seq'),
    PRIMARY KEY (domain, localpart, node, item_id),
    FOREIGN KEY (domain, localpart, node) REFERENCES pep_nodes (domain, localpart, node) ON DELETE CASCADE
);
CREATE INDEX pep_items_order ON pep_items (domain, localpart, node, seq);
