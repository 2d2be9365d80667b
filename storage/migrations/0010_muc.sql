-- Multi-User Chat (XEP-0045): persistent rooms and their affiliations. Occupants and
-- discussion history are not here: history comes back from the archive (0009).
CREATE TABLE muc_rooms (
    jid          text        PRIMARY KEY,          -- room@conference.example.org
    config       text        NOT NULL,             -- the muc#roomconfig form, submitted (XML)
    subject      text        NOT NULL DEFAULT '',
    subject_nick text        NOT NULL DEFAULT '',
    secret       text        NOT NULL,             -- XEP-0421 occupant-id salt
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE muc_affiliations (
    room        text NOT NULL REFERENCES muc_rooms (jid) ON DELETE CASCADE,
    jid         text NOT NULL,                     -- bare JID
    affiliation text NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
    PRIMARY KEY (room, jid)
);
