//! Keys and values between bytes and the terminal: UTF-8 text when they are printable text, hex
//! otherwise, hex both ways with `--hex`, the bytes themselves with `--raw`.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::cli::Show;
use crate::error::CliError;

/// The bytes a key or value given on the command line stands for: its UTF-8 bytes, or the bytes
/// its hex digits spell with `--hex`.
pub(crate) fn parse_arg(text: &str, hex: bool, what: &'static str) -> Result<Vec<u8>, CliError> {
    if !hex {
        return Ok(text.as_bytes().to_vec());
    }
    let digits = text.strip_prefix("0x").unwrap_or(text);
    decode_hex(digits).ok_or_else(|| CliError::BadArgument {
        what,
        detail: format!("{text:?} is not hex digits; give an even number of 0-9/a-f digits"),
    })
}

/// Decodes an even number of hex digits.
fn decode_hex(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// `0x` and two lowercase hex digits per byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The text form of `bytes`: themselves when they are UTF-8 without control characters, hex
/// otherwise (always hex with `--hex`).
pub(crate) fn display(bytes: &[u8], show: Show) -> Cow<'_, str> {
    if !show.hex
        && let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(char::is_control)
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(hex(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: Show = Show { hex: false, raw: false };
    const HEX: Show = Show { hex: true, raw: false };

    #[test]
    fn printable_utf8_is_shown_as_text_and_the_rest_as_hex() {
        assert_eq!(display(b"user:1", TEXT), "user:1");
        assert_eq!(display("größe".as_bytes(), TEXT), "größe");
        assert_eq!(display(b"a\nb", TEXT), "0x610a62");
        assert_eq!(display(&[0xff, 0x00], TEXT), "0xff00");
        assert_eq!(display(b"ab", HEX), "0x6162");
    }

    #[test]
    fn hex_arguments_decode_with_or_without_0x() {
        assert_eq!(parse_arg("0x00ff", true, "key").unwrap(), [0x00, 0xff]);
        assert_eq!(parse_arg("6162", true, "key").unwrap(), b"ab");
        assert_eq!(parse_arg("6162", false, "key").unwrap(), b"6162");
        assert!(parse_arg("616", true, "key").is_err());
        assert!(parse_arg("zz", true, "key").is_err());
    }
}
