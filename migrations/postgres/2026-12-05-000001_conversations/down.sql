ALTER TABLE users DROP COLUMN last_seen;
ALTER TABLE conv_positions DROP COLUMN muted;
ALTER TABLE conv_positions DROP COLUMN peer_id;
