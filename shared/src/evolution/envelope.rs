//! The webhook envelope (EVOLUTION.md §5.4): the only part of a body read
//! before the caller is authorised. `data` stays a borrowed slice of the
//! body ([`RawValue`]): an anonymous caller's 4 MiB of `[0,0,0,…]` costs
//! one scan and no allocation per element, never more memory than its body.
//! It is parsed ([`Envelope::data`]) only once the caller is known.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::http::too_deep;

/// An envelope borrowing its `data` from the body it was parsed from.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// Dotted lower case (`messages.upsert`); empty when absent.
    pub event: String,
    /// The instance **name** (any length: the guard refuses long ones).
    pub instance: Cow<'a, str>,
    /// `data` as sent, not parsed; `null` when absent.
    pub raw_data: &'a RawValue,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    instance: Cow<'a, str>,
    #[serde(default, borrow)]
    event: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Not JSON, nested deeper than 128 levels, or no string `instance`: a 400
/// (Evolution does not retry it).
pub fn parse_envelope(body: &[u8]) -> Result<Envelope<'_>, &'static str> {
    if too_deep(body) {
        return Err("body nests deeper than 128 levels");
    }
    // A struct also deserializes from a sequence: `["user_1"]` is no envelope.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("body is not a JSON object");
    }
    let wire: Wire<'_> =
        serde_json::from_slice(body).map_err(|_| "envelope has no string `instance`")?;
    let event = wire
        .event
        .and_then(|e| serde_json::from_str::<Cow<'_, str>>(e.get()).ok())
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(Envelope {
        event,
        instance: wire.instance,
        raw_data: wire.data.unwrap_or(RawValue::NULL),
    })
}

impl Envelope<'_> {
    /// `data` as a JSON value, for an authorised caller. It already passed
    /// the nesting check, so it parses whenever the envelope did.
    pub fn data(&self) -> Value {
        serde_json::from_str(self.raw_data.get()).unwrap_or(Value::Null)
    }

    /// `data` as an array of unparsed records (`None` if it is not an
    /// array): one record at a time is built, a bad one is skipped alone.
    pub fn data_records(&self) -> Option<Vec<&RawValue>> {
        serde_json::from_str(self.raw_data.get()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_need_a_json_object_and_a_string_instance() {
        assert!(parse_envelope(b"not json").is_err());
        assert!(parse_envelope(b"[1]").is_err());
        assert!(
            parse_envelope(b"[\"user_1\"]").is_err(),
            "a sequence is no envelope"
        );
        assert!(parse_envelope(br#"{"event":"x","instance":7}"#).is_err());
        assert!(parse_envelope(br#"{"event":"x"}"#).is_err());
        let e = parse_envelope(br#"{"instance":"user_1","data":{}}"#).expect("minimal envelope");
        assert_eq!((e.event.as_str(), e.instance.as_ref()), ("", "user_1"));
        let e = parse_envelope(br#"{"instance":"user_1","event":7}"#).expect("odd event");
        assert_eq!((e.event.as_str(), e.raw_data.get()), ("", "null"));
    }

    #[test]
    fn the_envelope_parser_does_not_build_data() {
        // A borrowed RawValue is a slice of the body: nothing was built.
        let body = format!(r#"{{"instance":"x","data":[{}0]}}"#, "0,".repeat(100_000));
        let e = parse_envelope(body.as_bytes()).expect("envelope");
        let (start, len) = (e.raw_data.get().as_ptr() as usize, e.raw_data.get().len());
        let body_start = body.as_ptr() as usize;
        assert!(start > body_start && start + len < body_start + body.len());
        assert!(matches!(e.instance, Cow::Borrowed("x")));
    }

    #[test]
    fn nesting_beyond_128_levels_is_refused_even_inside_data() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let body = format!(r#"{{"instance":"user_1","data":{deep}}}"#);
        assert!(parse_envelope(body.as_bytes()).is_err());
    }

    #[test]
    fn data_records_are_kept_apart() {
        let e = parse_envelope(br#"{"instance":"u","data":[{"a":1},7,"x"]}"#).expect("ok");
        let records = e.data_records().expect("an array");
        assert_eq!(
            records.iter().map(|r| r.get()).collect::<Vec<_>>(),
            [r#"{"a":1}"#, "7", r#""x""#]
        );
        let e = parse_envelope(br#"{"instance":"u","data":{"a":1}}"#).expect("ok");
        assert!(e.data_records().is_none());
    }
}
