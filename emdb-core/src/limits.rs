//! The size limits of keys and values, and the checks every write path runs before it takes the
//! writer lock.

use crate::error::{Error, Result};

/// The longest key emdb stores, in bytes (1 KiB).
///
/// Keys live in B-tree pages of 4 KiB; this bound keeps at least three keys per page. A longer key
/// is rejected with [`Error::KeyTooLarge`]. Keys written through a [`Focus`](crate::Focus) count
/// their prefix.
pub const MAX_KEY_LEN: usize = 1024;

/// The longest value emdb stores, in bytes (256 MiB).
///
/// A longer value is rejected with [`Error::ValueTooLarge`]. Large values are kept whole in
/// memory while they are written and read, so store big blobs in pieces if memory is tight.
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

pub(crate) fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::KeyTooLarge { len: key.len(), max: MAX_KEY_LEN });
    }
    Ok(())
}

pub(crate) fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge { len: value.len(), max: MAX_VALUE_LEN });
    }
    Ok(())
}

/// The longest namespace name, in bytes.
pub(crate) const MAX_NAMESPACE_LEN: usize = 255;

pub(crate) fn check_namespace(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "a namespace name must not be empty"
    } else if name.len() > MAX_NAMESPACE_LEN {
        "a namespace name must be at most 255 bytes"
    } else {
        return Ok(());
    };
    Err(Error::InvalidNamespace { name: name.to_owned(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_at_the_limit_pass_and_one_byte_more_fails() {
        assert!(check_key(&[0; MAX_KEY_LEN]).is_ok());
        assert!(matches!(
            check_key(&[0; MAX_KEY_LEN + 1]),
            Err(Error::KeyTooLarge { len, max: MAX_KEY_LEN }) if len == MAX_KEY_LEN + 1
        ));
        assert!(check_value(&[]).is_ok());
    }

    #[test]
    fn namespace_names_must_be_non_empty_and_short() {
        assert!(check_namespace("sessions").is_ok());
        assert!(matches!(check_namespace(""), Err(Error::InvalidNamespace { .. })));
        assert!(matches!(check_namespace(&"x".repeat(256)), Err(Error::InvalidNamespace { .. })));
    }
}
