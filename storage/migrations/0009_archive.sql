-- The message archive (XEP-0313). One row per archived message per archive (an
-- account's bare JID or a room's JID). Ids are assigned by the server (ArchiveQueue::
-- next_id: Unix microseconds, strictly increasing), not by a sequence, so that the
-- stanza-id is known before the row is written and a retried batch can skip the rows
-- that an earlier, seemingly failed attempt did commit (ON CONFLICT (id) DO NOTHING).
-- Time is kept as Unix microseconds: exact, and compared without conversions. JIDs
-- are only ever compared for equality, so they use the "C" collation: byte compares
-- keep the index upkeep of the write path cheap whatever the database's locale.
CREATE TABLE archive (
    id            bigint PRIMARY KEY,
    archive       text   COLLATE "C" NOT NULL,
    with_bare     text   COLLATE "C" NOT NULL,
    with_resource text   COLLATE "C" NOT NULL DEFAULT '',
    ts_us         bigint NOT NULL,
    xml           text   NOT NULL
);
-- Paging through one archive, and through one archive filtered by correspondent.
CREATE INDEX archive_by_archive ON archive (archive, id);
CREATE INDEX archive_by_with ON archive (archive, with_bare, id);
-- Retention deletes by time. Rows arrive in time order, so a BRIN index finds old
-- rows at almost no cost to the write path (a B-tree would be a fourth one to update).
CREATE INDEX archive_by_time ON archive USING brin (ts_us);

-- XEP-0313 §6 preferences; an account without a row uses the configured default.
CREATE TABLE archive_prefs (
    account      text   COLLATE "C" PRIMARY KEY,  -- bare JID
    default_mode text   NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),
    always       text[] NOT NULL DEFAULT '{}',
    never        text[] NOT NULL DEFAULT '{}'
);
