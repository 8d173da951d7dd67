-- The anonymous per-tab cart: one row per session and item, keyed by the session id of
-- tabrpc-sessions (registered with the store, which moves the rows at sign-in and deletes
-- them when the session ends).
CREATE TABLE cart_items (
    session_id TEXT NOT NULL,
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (session_id, item)
);
