-- The whole data model of SPEC.md. Times are Unix milliseconds (BIGINT) so both backends store
-- them identically; the server renders them in its configured time zone.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    avatar TEXT NOT NULL DEFAULT '',
    mobile TEXT,
    email TEXT,
    status INTEGER NOT NULL DEFAULT 1,
    last_login BIGINT,
    last_login_ip TEXT,
    register_time BIGINT NOT NULL,
    register_ip TEXT,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    role TEXT NOT NULL DEFAULT 'user',
    sort_order INTEGER NOT NULL DEFAULT 50,
    invite_confirm INTEGER NOT NULL DEFAULT 1,
    userset TEXT NOT NULL DEFAULT '',
    device_id TEXT UNIQUE,
    uniplatform TEXT,
    devicemodel TEXT,
    deviceos TEXT,
    devicebrand TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE user_infos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    gender TEXT NOT NULL DEFAULT 'unknown',
    birthday TEXT,
    bio TEXT,
    location TEXT,
    website TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE friendships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    friend_id BIGINT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    friendlookme INTEGER NOT NULL DEFAULT 1,
    melookfriend INTEGER NOT NULL DEFAULT 1,
    ismystarfriend INTEGER NOT NULL DEFAULT 0,
    isblack INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL DEFAULT 1,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (user_id, friend_id)
);
CREATE INDEX friendships_friend ON friendships (friend_id);

CREATE TABLE friend_applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    friend_id BIGINT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX friend_applications_target ON friend_applications (friend_id, status);
CREATE INDEX friend_applications_applicant ON friend_applications (user_id, status);

CREATE TABLE chat_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    avatar TEXT NOT NULL DEFAULT '',
    remark TEXT NOT NULL DEFAULT '',
    invite_confirm INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL DEFAULT 1,
    sort_order INTEGER NOT NULL DEFAULT 50,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

CREATE TABLE group_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id BIGINT NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    nickname TEXT NOT NULL DEFAULT '',
    avatar TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 1,
    sort_order INTEGER NOT NULL DEFAULT 50,
    invited_by BIGINT,
    join_desc TEXT,
    joined_at BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    UNIQUE (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE group_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id BIGINT NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    invited_by BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE INDEX group_requests_user ON group_requests (user_id, status);

-- One row per conversation ("s:<low>:<high>" or "g:<group>") holding the last assigned seq.
CREATE TABLE conversations (
    conv_key TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    conv_key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    chat_type TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    from_id BIGINT NOT NULL,
    to_id BIGINT NOT NULL,
    from_name TEXT NOT NULL,
    from_avatar TEXT NOT NULL,
    to_name TEXT NOT NULL,
    to_avatar TEXT NOT NULL,
    data TEXT NOT NULL,
    options TEXT NOT NULL,
    extra TEXT,
    client_msg_id TEXT,
    isremove INTEGER NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL,
    UNIQUE (conv_key, seq),
    UNIQUE (from_id, client_msg_id)
);
CREATE INDEX messages_to ON messages (to_id, id);
CREATE INDEX messages_from ON messages (from_id, id);
CREATE INDEX messages_conv ON messages (conv_key, id);

-- The embedded offline queue (used when Redis is not configured): the rich message JSON per row.
CREATE TABLE offline_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX offline_messages_user ON offline_messages (user_id, id);

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    url TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    image_class_id BIGINT,
    create_time BIGINT NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id);

-- Fixed-window counters for the embedded rate limiter.
CREATE TABLE rate_limits (
    rl_key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);
