//! Feature tables: where features keep their per-session data (a cart), so the store can move
//! it at rotation and delete it when a session ends.
//!
//! A feature keeps its rows in its own table with a session id column (`TEXT`, the id's
//! canonical form). It registers the table with the store ([`StoreConfig::feature`](crate::StoreConfig::feature));
//! the store then moves the rows in the rotation's transaction and deletes them in the same
//! transaction that ends the session (sign-out, revocation, expiry).
//!
//! **Writing feature rows.** A write must only land in a live session: a write that races a
//! rotation would otherwise leave rows under the old id, lost to the user. Condition every
//! insert or update on the session being live, in the same statement, and on Postgres lock the
//! session row `FOR SHARE` (a rotation locks it `FOR UPDATE`, so the two are ordered):
//!
//! ```sql
//! -- SQLite: a write statement takes the database's write lock before it reads
//! INSERT INTO cart_items (session_id, item, quantity)
//! SELECT $1, $2, $3 WHERE EXISTS
//!   (SELECT 1 FROM tabrpc_sessions WHERE id = $1 AND ended_at IS NULL)
//! ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity;
//! -- Postgres
//! INSERT INTO cart_items (session_id, item, quantity)
//! SELECT s.id, $2, $3 FROM tabrpc_sessions s WHERE s.id = $1 AND s.ended_at IS NULL FOR SHARE
//! ON CONFLICT (session_id, item) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity;
//! ```
//!
//! When such a write changes no row, [`SessionStore::ensure_live`](crate::SessionStore::ensure_live)
//! gives the error to answer (the session ended meanwhile).

use crate::error::Error;

/// The session store's own table; no feature may register it.
pub(crate) const SESSIONS_TABLE: &str = "tabrpc_sessions";

/// What a rotation does with an old session's row when the new session already has a row with
/// the same key (the new session is normally empty: the client makes its id just before the
/// rotation, so conflicts only happen when a rotation is retried).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Merge {
    /// Move every row as it is. For tables without a unique key besides the session column
    /// (an append-only log). The default.
    Append,
    /// Rows whose `key` columns match a row of the new session are dropped; the new session's
    /// row wins.
    KeepNew {
        /// The columns that, with the session column, make a row unique.
        key: Vec<String>,
    },
    /// Rows whose `key` columns match a row of the new session add their `column` to it (a
    /// cart's quantities), then are dropped. With `max`, the sum is capped at it (see
    /// [`Merge::at_most`]).
    Sum {
        /// The columns that, with the session column, make a row unique.
        key: Vec<String>,
        /// The numeric column to add up.
        column: String,
        /// The largest value a sum may reach, if any.
        max: Option<i64>,
    },
}

impl Merge {
    /// [`Merge::Sum`] over `key`, adding up `column`.
    pub fn sum<K: Into<String>>(
        key: impl IntoIterator<Item = K>,
        column: impl Into<String>,
    ) -> Self {
        Merge::Sum {
            key: key.into_iter().map(Into::into).collect(),
            column: column.into(),
            max: None,
        }
    }

    /// Caps a [`Merge::Sum`] at `max`, the limit the application enforces on the column (a
    /// cart line of at most 99), so that a merge cannot store a value no procedure would
    /// accept. No effect on the other strategies.
    ///
    /// ```
    /// use tabrpc_sessions::Merge;
    /// let merge = Merge::sum(["item"], "quantity").at_most(99);
    /// assert!(matches!(merge, Merge::Sum { max: Some(99), .. }));
    /// ```
    pub fn at_most(self, max: i64) -> Self {
        match self {
            Merge::Sum { key, column, .. } => Merge::Sum {
                key,
                column,
                max: Some(max),
            },
            other => other,
        }
    }

    /// [`Merge::KeepNew`] over `key`.
    pub fn keep_new<K: Into<String>>(key: impl IntoIterator<Item = K>) -> Self {
        Merge::KeepNew {
            key: key.into_iter().map(Into::into).collect(),
        }
    }
}

/// A table of session-keyed feature data, registered with the store.
///
/// Identifiers must be lower-case SQL identifiers (`[a-z_][a-z0-9_]*`, at most 63 bytes):
/// they are written into SQL, so the store refuses anything else at start-up, and lower case
/// means the same on SQLite and Postgres. The table must exist when the store opens.
///
/// ```
/// use tabrpc_sessions::{FeatureTable, Merge};
/// let cart = FeatureTable::new("cart_items", "session_id").merge(Merge::sum(["item"], "quantity"));
/// assert_eq!(cart.table(), "cart_items");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureTable {
    table: String,
    session_column: String,
    merge: Merge,
    max_rows: Option<u64>,
}

impl FeatureTable {
    /// The table `table` whose column `session_column` holds the session id. Merges by
    /// [`Merge::Append`] unless told otherwise.
    pub fn new(table: impl Into<String>, session_column: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            session_column: session_column.into(),
            merge: Merge::Append,
            max_rows: None,
        }
    }

    /// The most rows one session may hold in this table (a cart's distinct lines). The
    /// feature enforces it on its own writes; the store enforces it on rotation: a merge that
    /// would leave more rows than this (and more than the new session already had) in the new
    /// session fails with [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) (409
    /// CONFLICT) and changes nothing, so no data is dropped to fit. Moving into a fresh id,
    /// as the client does at sign-in, never hits it. Defaults to no limit.
    ///
    /// ```
    /// use tabrpc_sessions::FeatureTable;
    /// let cart = FeatureTable::new("cart_items", "session_id").max_rows(100);
    /// assert_eq!(cart.row_limit(), Some(100));
    /// ```
    pub fn max_rows(mut self, max: u64) -> Self {
        self.max_rows = Some(max);
        self
    }

    /// The limit set by [`FeatureTable::max_rows`], if any.
    pub fn row_limit(&self) -> Option<u64> {
        self.max_rows
    }

    /// How a rotation merges rows into a new session that already has some.
    pub fn merge(mut self, merge: Merge) -> Self {
        self.merge = merge;
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The session id column's name.
    pub fn session_column(&self) -> &str {
        &self.session_column
    }

    /// Checks every identifier.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.table == SESSIONS_TABLE {
            return Err(Error::config(format!(
                "feature table `{SESSIONS_TABLE}` is the session store's own table"
            )));
        }
        let mut names = vec![&self.table, &self.session_column];
        match &self.merge {
            Merge::Append => {}
            Merge::KeepNew { key } | Merge::Sum { key, .. } if key.is_empty() => {
                return Err(Error::config(format!(
                    "feature table `{}`: a merge key needs at least one column",
                    self.table
                )));
            }
            Merge::KeepNew { key } => names.extend(key),
            Merge::Sum { key, column, .. } => {
                names.extend(key);
                names.push(column);
            }
        }
        for name in names {
            if !is_identifier(name) {
                return Err(Error::config(format!(
                    "feature table `{}`: `{name}` is not a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes)",
                    self.table
                )));
            }
        }
        Ok(())
    }

    /// A statement that reads every column the store will use, changing nothing: it fails
    /// when the table or a column is missing.
    pub(crate) fn probe_sql(&self) -> String {
        let mut columns = vec![self.session_column.as_str()];
        match &self.merge {
            Merge::Append => {}
            Merge::KeepNew { key } => columns.extend(key.iter().map(String::as_str)),
            Merge::Sum { key, column, .. } => {
                columns.extend(key.iter().map(String::as_str));
                columns.push(column);
            }
        }
        format!(
            "SELECT {} FROM {} WHERE 1 = 0",
            columns.join(", "),
            self.table
        )
    }

    /// The statements that move the rows of session `$1` to session `$2`, in order. Every
    /// statement binds both parameters (Postgres needs each one used to know its type).
    pub(crate) fn move_sql(&self) -> Vec<String> {
        let (t, s) = (&self.table, &self.session_column);
        let matches = |alias: &str, key: &[String]| {
            key.iter()
                .map(|k| format!(" AND {alias}.{k} = {t}.{k}"))
                .collect::<String>()
        };
        let append = format!("UPDATE {t} SET {s} = $2 WHERE {s} = $1");
        let drop_duplicates = |key: &[String]| {
            format!(
                "DELETE FROM {t} WHERE {s} = $1 AND EXISTS \
                 (SELECT 1 FROM {t} AS tabrpc_new WHERE tabrpc_new.{s} = $2{})",
                matches("tabrpc_new", key)
            )
        };
        match &self.merge {
            Merge::Append => vec![append],
            Merge::KeepNew { key } => vec![drop_duplicates(key), append],
            Merge::Sum {
                key,
                column: c,
                max,
            } => {
                let old = matches("tabrpc_old", key);
                let sum = format!(
                    "{c} + (SELECT tabrpc_old.{c} FROM {t} AS tabrpc_old WHERE tabrpc_old.{s} = $1{old})"
                );
                // CASE rather than MIN/LEAST: the one spelling SQLite and Postgres share.
                let value = match max {
                    Some(max) => format!("CASE WHEN {sum} > {max} THEN {max} ELSE {sum} END"),
                    None => sum,
                };
                vec![
                    format!(
                        "UPDATE {t} SET {c} = {value} \
                         WHERE {s} = $2 AND EXISTS \
                         (SELECT 1 FROM {t} AS tabrpc_old WHERE tabrpc_old.{s} = $1{old})"
                    ),
                    drop_duplicates(key),
                    append,
                ]
            }
        }
    }

    /// Whether the statement at `index` of [`FeatureTable::move_sql`] moves rows (as opposed
    /// to dropping duplicates), for counting what a rotation moved.
    pub(crate) fn counts_as_moved(&self, index: usize) -> bool {
        match &self.merge {
            Merge::Append => true,
            Merge::KeepNew { .. } => index == 1,
            Merge::Sum { .. } => index != 1,
        }
    }

    /// Counts the rows of session `$1`.
    pub(crate) fn count_sql(&self) -> String {
        format!(
            "SELECT count(*) FROM {} WHERE {} = $1",
            self.table, self.session_column
        )
    }

    /// Deletes the rows whose session id matches `condition` (`= $1`, `IN (SELECT …)`).
    pub(crate) fn delete_sql(&self, condition: &str) -> String {
        format!(
            "DELETE FROM {} WHERE {} {condition}",
            self.table, self.session_column
        )
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert!(
            FeatureTable::new("cart_items", "session_id")
                .validate()
                .is_ok()
        );
        for (table, column) in [
            ("cart; DROP TABLE x", "session_id"),
            ("Cart", "session_id"),
            ("cart", "session id"),
            ("1cart", "session_id"),
            ("", "session_id"),
            (SESSIONS_TABLE, "id"),
        ] {
            let err = FeatureTable::new(table, column).validate().err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(crate::ErrorKind::Config),
                "{table}.{column}"
            );
        }
        let bad_key = FeatureTable::new("cart", "session_id").merge(Merge::sum(["it em"], "q"));
        assert!(bad_key.validate().is_err());
        let empty_key =
            FeatureTable::new("cart", "session_id").merge(Merge::keep_new(Vec::<String>::new()));
        assert!(empty_key.validate().is_err());
    }

    #[test]
    fn sum_merges_then_drops_then_moves() {
        let sql = FeatureTable::new("cart", "sid")
            .merge(Merge::sum(["item"], "qty"))
            .move_sql();
        assert_eq!(sql.len(), 3);
        assert!(
            sql[0].starts_with("UPDATE cart SET qty = qty + "),
            "{}",
            sql[0]
        );
        assert!(
            sql[1].starts_with("DELETE FROM cart WHERE sid = $1"),
            "{}",
            sql[1]
        );
        assert_eq!(sql[2], "UPDATE cart SET sid = $2 WHERE sid = $1");
        assert!(sql.iter().all(|s| s.contains("$1") && s.contains("$2")));
    }
}
