-- Onboarding progress: one row per (user, completed step).
CREATE TABLE IF NOT EXISTS onboarding_steps (
    user_id      TEXT    NOT NULL,
    step         TEXT    NOT NULL,
    completed_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, step)
);
