-- Display names set with `profile.setDisplayName`: one row per account.
CREATE TABLE IF NOT EXISTS profiles (
    user_id      TEXT NOT NULL PRIMARY KEY,
    display_name TEXT NOT NULL
);
