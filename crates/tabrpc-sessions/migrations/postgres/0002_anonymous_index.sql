-- tabrpc-sessions: the live anonymous sessions by last use, for the cap on them
-- (StoreConfig::max_anonymous_sessions): counted, and the least recently used ended, whenever a
-- session is created.
CREATE INDEX tabrpc_sessions_anonymous ON tabrpc_sessions (last_seen_at)
    WHERE ended_at IS NULL AND user_id IS NULL;
