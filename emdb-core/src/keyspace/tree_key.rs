//! How a namespace's keys are laid out in the one B+tree all namespaces share.
//!
//! ```text
//! tree key      = [namespace id: u32 BE][user key]
//! catalog entry = [FF FF FF FF][namespace id: u32 BE]  →  the namespace's name (UTF-8)
//! ```
//!
//! Big-endian ids keep each namespace's keys together, in the user's byte order, and put the
//! catalog (the reserved id [`CATALOG`]) after every namespace.

use crate::batch::NsId;

/// The reserved namespace id under which the catalog of namespace names lives.
pub(crate) const CATALOG: NsId = NsId::MAX;

/// The bytes every tree key of namespace `ns` starts with.
pub(crate) fn prefix(ns: NsId) -> [u8; 4] {
    ns.to_be_bytes()
}

/// The tree key of `key` in namespace `ns`.
pub(crate) fn encode(ns: NsId, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(4 + key.len());
    full.extend_from_slice(&prefix(ns));
    full.extend_from_slice(key);
    full
}

/// Calls `f` with the tree key of `key` under the namespace prefix `prefix`, built on the stack
/// when it is short (a seek per range read allocates nothing).
pub(crate) fn with_encoded<R>(prefix: [u8; 4], key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 64];
    let len = prefix.len() + key.len();
    if let Some(full) = buf.get_mut(..len) {
        let (p, k) = full.split_at_mut(prefix.len());
        p.copy_from_slice(&prefix);
        k.copy_from_slice(key);
        return f(full);
    }
    let mut full = Vec::with_capacity(len);
    full.extend_from_slice(&prefix);
    full.extend_from_slice(key);
    f(&full)
}

/// The namespace id and user key of a tree key, or `None` if it is shorter than its prefix
/// (only a damaged page holds such a key).
pub(crate) fn split(tree_key: &[u8]) -> Option<(NsId, &[u8])> {
    let (prefix, key) = tree_key.split_first_chunk::<4>()?;
    Some((NsId::from_be_bytes(*prefix), key))
}

/// The tree key of the catalog entry that names namespace `ns`.
pub(crate) fn catalog_key(ns: NsId) -> Vec<u8> {
    encode(CATALOG, &ns.to_be_bytes())
}

/// The namespace a catalog entry's key names, or `None` if the key is not a well-formed catalog
/// key.
pub(crate) fn catalog_entry(tree_key: &[u8]) -> Option<NsId> {
    match split(tree_key)? {
        (CATALOG, id) => id.try_into().ok().map(NsId::from_be_bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_key_is_the_big_endian_id_then_the_key() {
        assert_eq!(encode(0x0102_0304, b"k"), [1, 2, 3, 4, b'k']);
        assert_eq!(split(&encode(7, b"abc")), Some((7, &b"abc"[..])));
        assert_eq!(split(&[0, 0, 1]), None);
        assert!(encode(1, b"\xff\xff") < encode(2, b""), "namespaces stay apart, in id order");
        for len in [0, 60, 61, 200] {
            let key = vec![7u8; len];
            with_encoded(prefix(5), &key, |full| assert_eq!(full, encode(5, &key)));
        }
    }

    #[test]
    fn catalog_entries_sort_after_every_namespace_and_name_their_id() {
        assert_eq!(catalog_key(9), [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 9]);
        assert!(catalog_key(0) > encode(CATALOG - 1, &[0xFF; 8]));
        assert_eq!(catalog_entry(&catalog_key(9)), Some(9));
        assert_eq!(catalog_entry(&encode(3, &9u32.to_be_bytes())), None, "not the catalog");
        assert_eq!(catalog_entry(&encode(CATALOG, b"abc")), None, "a malformed id");
    }
}
