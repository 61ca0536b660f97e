-- Offline delivery by positions (issue 21): history is the only copy of a message. Each user has
-- a delivered position per conversation; their offline queue is every message above it.
CREATE TABLE conv_positions (
    user_id BIGINT NOT NULL,
    conv_key TEXT NOT NULL,
    -- Highest seq known delivered to one of the user's devices (moves forward only).
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    -- Highest seq the user has read (for unread counts and receipts; delivered <= read is not
    -- required: a user can read on another client what was never pushed here).
    read_seq BIGINT NOT NULL DEFAULT 0,
    -- The last seq of the user's part in the conversation: a group member who left or was
    -- removed stops here. The largest BIGINT while they take part.
    until_seq BIGINT NOT NULL DEFAULT 9223372036854775807,
    PRIMARY KEY (user_id, conv_key)
);
CREATE INDEX conv_positions_conv ON conv_positions (conv_key);

-- Users a message is for beyond its conversation's participants (a removed member told of the
-- removal), or, for a private message (messages.private = 1), the only users it is for.
CREATE TABLE message_audience (
    user_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX message_audience_message ON message_audience (message_id);

ALTER TABLE messages ADD COLUMN private INTEGER NOT NULL DEFAULT 0;

-- Every single chat's two users (System, user 0, has no position).
INSERT INTO conv_positions (user_id, conv_key, delivered_seq, read_seq)
SELECT DISTINCT u, conv_key, 0, 0 FROM (
    SELECT to_id AS u, conv_key FROM messages WHERE chat_type = 'single'
    UNION
    SELECT from_id AS u, conv_key FROM messages WHERE chat_type = 'single'
) AS parties WHERE u <> 0;

-- Active members of every group, from the group's first message.
INSERT INTO conv_positions (user_id, conv_key, delivered_seq, read_seq)
SELECT user_id, 'g:' || CAST(group_id AS TEXT), 0, 0 FROM group_members WHERE status = 1;

-- Carry the embedded queue over: a conversation is delivered up to just below its oldest queued
-- message, or to its end when nothing of it was queued. (Queues kept in Redis lists are not
-- carried over; their messages stay in history and in `sync`.)
UPDATE conv_positions p SET delivered_seq = COALESCE(
    (SELECT MIN(m.seq) - 1 FROM offline_messages o
        JOIN messages m ON m.uuid = (o.payload::json ->> 'id')
        WHERE o.user_id = p.user_id AND m.conv_key = p.conv_key),
    (SELECT c.last_seq FROM conversations c WHERE c.conv_key = p.conv_key),
    0);
UPDATE conv_positions SET read_seq = delivered_seq;

DROP TABLE offline_messages;
