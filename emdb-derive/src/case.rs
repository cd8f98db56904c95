//! The default table and group names: a type name in `snake_case` (`UserProfile` →
//! `user_profile`, `HTTPServer` → `http_server`).

/// `name` in `snake_case`: an underscore goes before an uppercase letter that follows a
/// lowercase letter or a digit, and before the last uppercase letter of a run that is followed
/// by a lowercase letter.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
            let next = chars.get(i + 1).copied();
            let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
            let ends_run =
                prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase);
            if (after_lower || ends_run) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn type_names_become_snake_case() {
        let cases = [
            ("User", "user"),
            ("UserProfile", "user_profile"),
            ("HTTPServer", "http_server"),
            ("Utf8Key", "utf8_key"),
            ("Product2Variant", "product2_variant"),
            ("already_snake", "already_snake"),
            ("Snake_Case", "snake_case"),
            ("ABC", "abc"),
            ("X", "x"),
        ];
        for (name, expected) in cases {
            assert_eq!(snake_case(name), expected, "{name}");
        }
    }
}
