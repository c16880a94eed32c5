//! Evolution's `createJid` (`src/utils/createJid.ts`), reproduced rule for rule
//! because the backend stores the JID Evolution answers with — including the
//! Brazilian 9th-digit removal that makes `key.remoteJid` differ from the typed
//! number.

/// Turns a number or JID into the JID Evolution would address.
///
/// Full JIDs (`@s.whatsapp.net`, `@g.us`, `@lid`, `@broadcast`) pass through
/// (minus a `:device` suffix); digits get the MX/AR and BR rewrites.
pub fn create_jid(input: &str) -> String {
    let number = strip_first_device_suffix(input);
    if ["@g.us", "@s.whatsapp.net", "@lid", "@broadcast"]
        .iter()
        .any(|suffix| number.contains(suffix))
    {
        return number;
    }
    let cleaned: String = number
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '+' | '(' | ')'))
        .collect();
    let cleaned = cleaned.split(':').next().unwrap_or_default();
    let cleaned = cleaned.split('@').next().unwrap_or_default();
    if cleaned.contains('-') && cleaned.len() >= 24 {
        let group: String = cleaned
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        return format!("{group}@g.us");
    }
    let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 18 {
        return format!("{digits}@g.us");
    }
    let digits = format_br(&format_mx_or_ar(&digits));
    format!("{digits}@s.whatsapp.net")
}

/// JS `number.replace(/:\d+/, '')`: only the first `:<digits>` goes.
fn strip_first_device_suffix(input: &str) -> String {
    let bytes = input.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b':' {
            let run = bytes[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if run > 0 {
                return format!("{}{}", &input[..i], &input[i + 1 + run..]);
            }
        }
    }
    input.to_owned()
}

/// Mexico (52) and Argentina (54): a 13-digit number loses its third digit.
fn format_mx_or_ar(digits: &str) -> String {
    let is_mx_or_ar = digits.starts_with("52") || digits.starts_with("54");
    if is_mx_or_ar && digits.len() == 13 {
        format!("{}{}", &digits[..2], &digits[3..])
    } else {
        digits.to_owned()
    }
}

/// Brazil (55): `55 DD X NNNNNNNN` drops `X` unless the subscriber number
/// starts below 7 (a landline) or the area code is below 31.
fn format_br(digits: &str) -> String {
    if digits.len() != 13 || !digits.starts_with("55") {
        return digits.to_owned();
    }
    let ddd: u32 = digits[2..4].parse().unwrap_or(0);
    let joker = digits.as_bytes()[5] - b'0';
    if joker < 7 || ddd < 31 {
        digits.to_owned()
    } else {
        format!("{}{}", &digits[..4], &digits[5..])
    }
}

/// Group JIDs (`…@g.us`).
pub fn is_group(jid: &str) -> bool {
    jid.ends_with("@g.us")
}

/// WhatsApp's privacy identifiers (`…@lid`), which Evolution treats as always existing.
pub fn is_lid(jid: &str) -> bool {
    jid.ends_with("@lid")
}

/// Broadcast lists and `status@broadcast`.
pub fn is_broadcast(jid: &str) -> bool {
    jid.ends_with("@broadcast")
}

/// The user part of a JID (`5511…@s.whatsapp.net` → `5511…`).
pub fn user_part(jid: &str) -> &str {
    jid.split('@').next().unwrap_or(jid)
}

#[cfg(test)]
mod tests {
    use super::create_jid;

    #[test]
    fn create_jid_matches_evolution_rules() {
        let cases = [
            ("5511988887777", "5511988887777@s.whatsapp.net"),
            ("5531988887777", "553188887777@s.whatsapp.net"),
            ("5531938887777", "5531938887777@s.whatsapp.net"),
            ("+55 (31) 98888 7777", "553188887777@s.whatsapp.net"),
            ("5215512345678", "525512345678@s.whatsapp.net"),
            ("14155550123", "14155550123@s.whatsapp.net"),
            ("123456789012345678", "123456789012345678@g.us"),
            (
                "5511988887777:12@s.whatsapp.net",
                "5511988887777@s.whatsapp.net",
            ),
            ("123@lid", "123@lid"),
            ("120363000000000000@g.us", "120363000000000000@g.us"),
        ];
        for (input, want) in cases {
            assert_eq!(create_jid(input), want, "createJid({input})");
        }
    }
}
