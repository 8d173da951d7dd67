//! Declarative validation of procedure inputs with [`garde`]: the input derives
//! `garde::Validate`, the procedure calls [`Procedure::validate`], and an input that breaks a
//! rule is answered 400 BAD_REQUEST with every broken rule by field in `error.data.fieldErrors`.
//!
//! garde rather than `validator`: its derive refuses a field without a rule (`#[garde(skip)]`
//! says "none" explicitly), so a new field cannot go unchecked by accident, and its report is a
//! flat list of `(path, message)` pairs, which is the shape the wire sends.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::Error;
use crate::procedure::Procedure;

/// The broken rules of an input by field: the field's path (`"item"`, `"lines[0].sku"`, `""` for
/// a rule on the whole input) → the messages of the rules it breaks. Sent as
/// `error.data.fieldErrors`; exported to TypeScript as `FieldErrors`.
///
/// Paths use the Rust field names; when serde renames a field on the wire, give garde the same
/// name (`#[garde(rename = "camelName")]`) so that the client finds its form field.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

impl<TCtx, TIn> Procedure<TCtx, TIn>
where
    TCtx: Send + 'static,
    TIn: garde::Validate + Send + 'static,
    TIn::Context: Default,
{
    /// Checks the input's garde rules before the handler runs: a broken rule answers 400
    /// BAD_REQUEST with `error.data.fieldErrors` ([`FieldErrors`]) and a message listing them.
    ///
    /// Call it right after the constructor, before [`Procedure::guard`]: middleware added
    /// later runs first, so the guard then refuses a wrong caller before the input is judged.
    ///
    /// ```
    /// use tabrpc_core::{Procedure, Router};
    ///
    /// #[derive(serde::Deserialize, specta::Type, garde::Validate)]
    /// struct AddItem {
    ///     #[garde(length(min = 1, max = 100))]
    ///     item: String,
    ///     #[garde(range(min = 1, max = 99))]
    ///     quantity: u32,
    /// }
    ///
    /// #[derive(Clone)]
    /// struct Ctx;
    ///
    /// let add = Procedure::mutation(|_: Ctx, input: AddItem| async move { Ok(input.quantity) })
    ///     .validate();
    /// assert!(Router::new().procedure("cart.add", add).build().is_ok());
    /// ```
    pub fn validate(self) -> Self {
        self.with(|ctx: TCtx, input: &TIn| std::future::ready(check(input).map(|()| ctx)))
    }
}

/// Runs `input`'s rules; the 400 error of the broken ones.
pub(crate) fn check<T>(input: &T) -> Result<(), Error>
where
    T: garde::Validate,
    T::Context: Default,
{
    input.validate().map_err(|report| invalid(&report))
}

/// The 400 error of a garde report.
fn invalid(report: &garde::Report) -> Error {
    let mut fields = FieldErrors::new();
    for (path, error) in report.iter() {
        fields
            .entry(path.to_string())
            .or_default()
            .push(error.message().to_owned());
    }
    Error::invalid_fields(fields)
}

impl Error {
    /// A 400 BAD_REQUEST whose `error.data.fieldErrors` are `fields`, with a message listing
    /// them (`Invalid input: item: length is lower than 1`). What [`Procedure::validate`]
    /// answers; a handler can answer the same for a rule it checks itself (an item name that is
    /// already taken).
    pub fn invalid_fields(fields: FieldErrors) -> Self {
        let mut message = String::from("Invalid input:");
        for (i, (path, messages)) in fields.iter().enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            let at = if path.is_empty() { "input" } else { path };
            // Writing to a `String` cannot fail.
            let _ = write!(message, "{sep}{at}: {}", messages.join(", "));
        }
        let mut error = Error::bad_request(message);
        error.field_errors = Some(Arc::new(fields));
        error
    }

    /// The field errors of a validation failure (`error.data.fieldErrors`), if any.
    pub fn field_errors(&self) -> Option<&FieldErrors> {
        self.field_errors.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ErrorCode;

    #[derive(garde::Validate)]
    struct Line {
        #[garde(length(min = 1))]
        sku: String,
    }

    #[derive(garde::Validate)]
    struct Order {
        #[garde(length(min = 1, max = 3))]
        name: String,
        #[garde(range(max = 9))]
        count: u32,
        #[garde(dive)]
        lines: Vec<Line>,
    }

    #[test]
    fn every_broken_rule_is_reported_by_path() {
        let order = Order {
            name: String::new(),
            count: 10,
            lines: vec![Line { sku: "a".into() }, Line { sku: String::new() }],
        };
        let err = check(&order).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadRequest);
        let fields = err.field_errors().cloned().unwrap_or_default();
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["count", "lines[1].sku", "name"]);
        assert_eq!(fields["name"], ["length is lower than 1"]);
        assert!(
            err.message().starts_with("Invalid input: count: "),
            "{}",
            err.message()
        );
    }

    #[test]
    fn a_valid_input_passes() {
        let order = Order {
            name: "ok".into(),
            count: 9,
            lines: Vec::new(),
        };
        assert!(check(&order).is_ok());
    }
}
