//! How deeply a JSON body nests, found by one pass over its bytes without
//! building anything: serde_json limits recursion only where it builds
//! values, and skips ignored fields (and the webhook's borrowed `data`)
//! without any limit, so the 128 levels of API.md are checked here, before
//! any parsing, the same for client routes and the webhook.

/// API.md: deeper than this is a 400.
pub const MAX_JSON_DEPTH: usize = 128;

/// Does `bytes` open more than [`MAX_JSON_DEPTH`] arrays/objects inside one
/// another? Brackets inside strings do not count; malformed input is left
/// to the parser to refuse.
pub fn too_deep(bytes: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn up_to_128_levels_pass_and_129_do_not() {
        assert!(!too_deep(nested(128).as_bytes()));
        assert!(too_deep(nested(129).as_bytes()));
        assert!(too_deep(format!(r#"{{"a":{}}}"#, nested(128)).as_bytes()));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(!too_deep(s.as_bytes()));
        let siblings = "[[]]".repeat(10_000);
        assert!(!too_deep(format!("[{siblings}]").as_bytes()));
    }
}
