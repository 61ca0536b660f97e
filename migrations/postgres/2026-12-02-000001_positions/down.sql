-- Back to the stored queue: it starts empty (what was above the positions stays in history).
CREATE TABLE offline_messages (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX offline_messages_user ON offline_messages (user_id, id);
ALTER TABLE messages DROP COLUMN private;
DROP TABLE message_audience;
DROP TABLE conv_positions;
