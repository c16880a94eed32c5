//! Just enough of the `jsonschema` package to reproduce Evolution's 400s:
//! each failure message is the schema's `description` when it has one, else
//! the validator's `stack` with `instance.` stripped — and the list is nested
//! one level deeper by `BadRequestException(messages)`.

use serde_json::Value;

use crate::error::EvoError;

/// Collects validation failures for one request body.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<String>,
}

/// JSON-schema type names.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    Str,
    Bool,
    Int,
    Obj,
    Arr,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Self::Str => "string",
            Self::Bool => "boolean",
            Self::Int => "integer",
            Self::Obj => "object",
            Self::Arr => "array",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Self::Str => v.is_string(),
            Self::Bool => v.is_boolean(),
            Self::Int => v.as_f64().is_some_and(|f| f.fract() == 0.0),
            Self::Obj => v.is_object(),
            Self::Arr => v.is_array(),
        }
    }
}

/// `instance.webhook` → `webhook`; the root stays `instance`.
fn shown(path: &str) -> String {
    if path.is_empty() {
        "instance".to_owned()
    } else {
        path.to_owned()
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

impl Check {
    /// `required: [field]` on the object at `path` (`""` = root).
    pub fn required(&mut self, obj: &Value, path: &str, field: &str) {
        if obj.get(field).is_none() {
            self.errors
                .push(format!("{} requires property \"{field}\"", shown(path)));
        }
    }

    /// `{type}` (with an optional `description`) on `obj[field]` when present.
    pub fn ty(&mut self, obj: &Value, path: &str, field: &str, ty: Ty, description: Option<&str>) {
        let Some(v) = obj.get(field) else { return };
        if !ty.accepts(v) {
            self.errors.push(description.map_or_else(
                || format!("{} is not of type \"{}\"", join(path, field), ty.name()),
                str::to_owned,
            ));
        }
    }

    /// `isNotEmpty(field)`: a present string must have length ≥ 1.
    pub fn not_empty(&mut self, obj: &Value, field: &str, description: &str) {
        if obj.get(field).and_then(Value::as_str) == Some("") {
            self.errors.push(description.to_owned());
        }
    }

    /// `items.enum` on the array at `obj[field]`.
    pub fn items_in(&mut self, obj: &Value, path: &str, field: &str, allowed: &[&str]) {
        let Some(items) = obj.get(field).and_then(Value::as_array) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let ok = item.as_str().is_some_and(|s| allowed.contains(&s));
            if !ok {
                self.errors.push(format!(
                    "{}[{i}] is not one of enum values: {}",
                    join(path, field),
                    allowed.join(",")
                ));
            }
        }
    }

    /// `enum` on `obj[field]` when present.
    pub fn one_of(&mut self, obj: &Value, path: &str, field: &str, allowed: &[&str]) {
        let Some(v) = obj.get(field) else { return };
        if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
            self.errors.push(format!(
                "{} is not one of enum values: {}",
                join(path, field),
                allowed.join(",")
            ));
        }
    }

    /// The root must be an object.
    pub fn object(&mut self, body: &Value) -> bool {
        let ok = body.is_object();
        if !ok {
            self.errors
                .push("instance is not of type \"object\"".to_owned());
        }
        ok
    }

    /// 400 with every collected message, or Ok.
    pub fn finish(self) -> Result<(), EvoError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(EvoError::schema(self.errors))
        }
    }
}

/// JS truthiness of a JSON value, for Evolution's `x ? … : default` checks.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}
