// The bodies of the fuzz targets `typed_key` and `value_header`. emdb-typed's corpus replay test
// (`emdb-typed/tests/fuzz_corpus.rs`) `include!`s this file, so `cargo test` runs the very same
// code over the committed corpus without building the fuzz crate.

/// Decodes `data` as a key of several types. Properties: no panic; a key that decodes encodes
/// back to exactly `data` (the encoding is canonical: two byte strings never decode to the same
/// key, which would make one value two different keys in the database).
///
/// # Panics
/// When a property does not hold.
pub fn typed_key(data: &[u8]) {
    fn check<K>(data: &[u8])
    where
        K: serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    {
        if let Ok(key) = emdb_typed::key::decode::<K>(data) {
            match emdb_typed::key::encode(&key) {
                Ok(bytes) => assert_eq!(bytes, data, "{key:?} decodes from other bytes"),
                Err(e) => panic!("{key:?} decodes but does not encode: {e}"),
            }
        }
    }
    check::<u64>(data);
    check::<i32>(data);
    check::<f64>(data);
    check::<char>(data);
    check::<bool>(data);
    check::<String>(data);
    check::<Vec<u8>>(data);
    check::<Vec<String>>(data);
    check::<Option<u16>>(data);
    check::<(String, u64)>(data);
    check::<(i64, Option<String>, Vec<bool>)>(data);
    check::<(u8, f32, char, String)>(data);
}

/// Splits `data` into a value header and payload. Properties: no panic; a header that parses
/// writes back to the same bytes (versions are in their shortest form).
///
/// # Panics
/// When a property does not hold.
pub fn value_header(data: &[u8]) {
    if let Ok((header, payload)) = emdb_typed::read_header(data) {
        let mut out = Vec::new();
        emdb_typed::write_header(header.codec_id, header.schema_version, &mut out);
        out.extend_from_slice(payload);
        assert_eq!(out, data, "{header:?} writes back differently");
    }
}
