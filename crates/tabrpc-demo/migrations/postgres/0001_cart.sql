-- The cart in Postgres, next to the sessions when TABRPC_SESSION_DATABASE_URL is set (see
-- ../0002_cart.sql for SQLite).
CREATE TABLE cart_items (
    session_id TEXT NOT NULL,
    item TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (session_id, item)
);
