//! HTTP header rules shared by MCPServerEntry (forwarded headers) and VirtualMCPServer
//! (passthrough headers).

/// Headers the runtime refuses to set: hop-by-hop, framing and proxy-identity headers.
pub const RESTRICTED: [&str; 17] = [
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "http2-settings",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "transfer-encoding",
    "content-length",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

pub const MAX_NAME_LEN: usize = 255;
pub const MAX_VALUE_LEN: usize = 8192;

/// RFC 9110 `tchar` by byte value: letters, digits and ``!#$%&'*+-.^_`|~``.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < table.len() {
        table[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    let symbols = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < symbols.len() {
        table[symbols[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `name` is an RFC 9110 token (`tchar+`).
pub fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| TCHAR[usize::from(b)])
}

/// Why `name` is not a usable header name, if it is not.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("header name must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!("header name must be at most {MAX_NAME_LEN} characters (has {})", name.len()));
    }
    (!is_token(name))
        .then(|| format!("header name {name:?} is not a valid HTTP token (letters, digits and !#$%&'*+-.^_`|~ only)"))
}

/// Whether the runtime refuses to forward `name`.
pub fn is_restricted(name: &str) -> bool {
    RESTRICTED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Why `value` cannot be sent as a header value, if it cannot (never echoes the value).
pub fn value_problem(value: &str) -> Option<String> {
    if super::more_chars_than(value, MAX_VALUE_LEN) {
        return Some(format!("header value must be at most {MAX_VALUE_LEN} characters"));
    }
    let control = if value.is_ascii() {
        value.bytes().any(|b| b != b'\t' && b.is_ascii_control())
    } else {
        value.chars().any(|c| c != '\t' && c.is_control())
    };
    control.then(|| "header value must not contain control characters (CR, LF, NUL, …) other than tab".into())
}

/// Client credentials, which a passthrough would hand to every backend.
pub const CREDENTIALS: [&str; 2] = ["authorization", "cookie"];

/// Whether a client header may not be passed through to backends: restricted, or a credential.
pub fn is_restricted_passthrough(name: &str) -> bool {
    is_restricted(name) || CREDENTIALS.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// Whether a header with this name probably carries a credential.
pub fn looks_like_credential(name: &str) -> bool {
    // An ASCII case-insensitive search for the words in one pass, without a lowercased copy: a
    // byte is compared further only with the words it can start. The words are ASCII, so a match
    // never starts inside a multi-byte character. "auth" also covers "authorization".
    if name.eq_ignore_ascii_case("cookie") {
        return true;
    }
    let mut rest = name.as_bytes();
    while let Some((first, tail)) = rest.split_first() {
        let starts = |word: &[u8]| rest.get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word));
        let found = match first.to_ascii_lowercase() {
            b't' => starts(b"token"),
            b's' => starts(b"secret"),
            b'p' => starts(b"password"),
            b'a' => starts(b"auth") || starts(b"apikey") || starts(b"api-key"),
            _ => false,
        };
        if found {
            return true;
        }
        rest = tail;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token("X-API-Key") && is_token("a!#$%&'*+-.^_`|~z"));
        for bad in ["", "X API", "X:Y", "Ä", "a\"b", "(x)", "a/b", "a@b", "a[b]"] {
            assert!(!is_token(bad), "{bad}");
        }
        assert!(name_problem(&"a".repeat(255)).is_none());
        assert!(name_problem(&"a".repeat(256)).is_some());
    }

    #[test]
    fn restricted_is_case_insensitive() {
        assert!(is_restricted("HOST") && is_restricted("X-Forwarded-For") && is_restricted("te"));
        assert!(!is_restricted("X-Request-Id") && !is_restricted("Authorization"));
        for name in RESTRICTED {
            assert!(is_restricted(name) && is_restricted(&name.to_ascii_uppercase()), "{name}");
            let (head, last) = name.split_at(name.len() - 1);
            assert!(!is_restricted(&format!("{head}_")) && !is_restricted(&format!("{name}{last}")), "{name}");
        }
        assert!(!is_restricted(""));
        assert!(is_restricted_passthrough("authorization") && is_restricted_passthrough("COOKIE"));
        assert!(is_restricted_passthrough("Host") && !is_restricted_passthrough("X-Request-Id"));
    }

    #[test]
    fn values() {
        assert!(value_problem("a\tb").is_none());
        for bad in ["a\rb", "a\nb", "a\0b", "a\u{7f}b", "a\u{1b}b"] {
            assert!(value_problem(bad).is_some(), "{bad:?}");
        }
        assert!(value_problem(&"v".repeat(8192)).is_none());
        assert!(value_problem(&"v".repeat(8193)).is_some());
        // Characters, not bytes, are counted; C1 controls count as control characters.
        assert!(value_problem("é\tß").is_none());
        assert!(value_problem("é\u{85}").is_some());
        assert!(value_problem(&"é".repeat(8192)).is_none());
        assert!(value_problem(&"é".repeat(8193)).is_some());
    }

    #[test]
    fn credential_names() {
        for name in [
            "Authorization",
            "COOKIE",
            "cookie",
            "X-Auth-Token",
            "X-API-Key",
            "x-apikey",
            "Client-Secret",
            "DB-Password",
            "tOkEn",
        ] {
            assert!(looks_like_credential(name), "{name}");
        }
        for name in ["X-Request-Id", "Accept", "X-Tenant", "Cookies-Off", "", "au", "X-Tok-en", "ÄUTH-less", "ÄPI-KEY"]
        {
            assert!(!looks_like_credential(name), "{name}");
        }
    }
}
