-- tabrpc-sessions, Postgres: the sessions and their link to a user. Feature data lives in the
-- features' own tables, keyed by session id.
CREATE TABLE tabrpc_sessions (
    id TEXT PRIMARY KEY,               -- canonical lower-case UUID v4
    user_id TEXT,                      -- NULL while anonymous
    created_at BIGINT NOT NULL,        -- Unix milliseconds
    last_seen_at BIGINT NOT NULL,
    ended_at BIGINT,                   -- set when the session ends; the row is kept for a while
    end_reason TEXT                    -- rotated | ended | revoked | expired
);
CREATE INDEX tabrpc_sessions_by_user ON tabrpc_sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX tabrpc_sessions_idle ON tabrpc_sessions (last_seen_at) WHERE ended_at IS NULL;
CREATE INDEX tabrpc_sessions_ended ON tabrpc_sessions (ended_at) WHERE ended_at IS NOT NULL;
