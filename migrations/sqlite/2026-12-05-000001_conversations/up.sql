-- The conversation list (issue 19): each position row names the conversation's other side (the
-- peer user of a single chat, the group of a group conversation) so the list joins names and
-- avatars in one query, and carries the user's mute flag.
ALTER TABLE conv_positions ADD COLUMN peer_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conv_positions ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;

UPDATE conv_positions SET peer_id = CAST(substr(conv_key, 3) AS INTEGER)
    WHERE conv_key LIKE 'g:%';
-- "s:<low>:<high>": the side that is not the user (a chat with oneself names oneself).
UPDATE conv_positions SET peer_id = CASE
        WHEN CAST(substr(conv_key, 3, instr(substr(conv_key, 3), ':') - 1) AS INTEGER) = user_id
            THEN CAST(substr(substr(conv_key, 3), instr(substr(conv_key, 3), ':') + 1) AS INTEGER)
        ELSE CAST(substr(conv_key, 3, instr(substr(conv_key, 3), ':') - 1) AS INTEGER) END
    WHERE conv_key LIKE 's:%';

-- Presence (issue 19): when the user's last socket anywhere closed (ms); null while never seen
-- or before this version.
ALTER TABLE users ADD COLUMN last_seen BIGINT;
