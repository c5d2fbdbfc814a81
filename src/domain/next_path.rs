//! Where to send someone after they sign in: only ever a path on this site.

/// Returns `input` if it is a local absolute path (`/keys?env=live`), and `/`
/// otherwise, so that a crafted link cannot bounce a user to another site.
pub fn safe_next_path(input: Option<&str>) -> String {
    match input {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encodes `input` for use as one query-string value.
pub fn encode_component(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{encode_component, safe_next_path};

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_component("/join?token=a&b c"),
            "/join%3Ftoken%3Da%26b%20c"
        );
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next_path(Some("/members?x=1")), "/members?x=1");
    }

    #[test]
    fn other_sites_and_tricks_fall_back_to_home() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "/\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next_path(None), "/");
    }
}
