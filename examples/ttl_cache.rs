//! A cache with a time-to-live: entries written with a default TTL, a per-entry TTL and no TTL,
//! a [`ManualClock`] moved by hand to show them expire, `ttl`, `expires_at`, `persist` and
//! `purge_expired`.
//!
//! Run it with `cargo run --example ttl_cache`.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use emdb::{Emdb, Error, ManualClock, Ttl};

/// Milliseconds since the Unix epoch at which the example's clock starts (2024-01-01T00:00:00Z).
const START_MS: u64 = 1_704_067_200_000;

fn main() -> Result<(), Error> {
    // The clock is shared: the database reads it, the example moves it.
    let clock = ManualClock::new(START_MS);
    let cache = Emdb::builder()
        .default_ttl(Duration::from_secs(60))
        .clock(Arc::new(clock.clone()))
        .build()?;
    println!("opened an in-memory cache: default TTL 60 s, manual clock at t = 0 s");

    cache.insert("page:/home", "<html>home</html>")?; // default TTL: 60 s
    cache.insert_with_ttl("session:42", "user=alice", Ttl::After(Duration::from_secs(10)))?;
    cache.insert_with_ttl("config:theme", "dark", Ttl::Never)?;
    println!("inserted page:/home (default TTL), session:42 (10 s), config:theme (never expires)");

    for key in ["page:/home", "session:42", "config:theme"] {
        let ttl = cache.ttl(key)?;
        let at = cache.expires_at(key)?.and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        println!("  {key:<13} ttl = {ttl:?}, expires_at = {at:?} after the epoch");
    }

    clock.advance(Duration::from_secs(11));
    println!("t = 11 s: session:42 has expired");
    println!("  get(\"session:42\") = {:?}", cache.get("session:42")?);
    println!("  contains_key(\"session:42\") = {}", cache.contains_key("session:42")?);
    println!("  len() = {} (expired entries are invisible to every read)", cache.len()?);
    println!("  page:/home has {:?} left", cache.ttl("page:/home")?);

    let kept = cache.persist("page:/home")?;
    let ttl = cache.ttl("page:/home")?;
    println!("persist(\"page:/home\") = {kept}: it no longer expires (ttl = {ttl:?})");
    let revived = cache.persist("session:42")?;
    println!("persist(\"session:42\") = {revived}: an expired entry cannot be revived");

    cache.insert("page:/about", "<html>about</html>")?;
    clock.advance(Duration::from_secs(60));
    println!("t = 71 s: page:/about (written at 11 s with the default TTL) has expired too");
    println!("  live keys:");
    for key in cache.keys()? {
        println!("    {}", String::from_utf8_lossy(&key?));
    }

    let purged = cache.purge_expired()?;
    println!("purge_expired() reclaimed {purged} entries; len() = {}", cache.len()?);
    Ok(())
}
