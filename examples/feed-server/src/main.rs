//! The feed server: a `users` table over HTTP with its change feed as Server-Sent Events (see
//! the library's docs for the routes).
//!
//! Run it with `cargo run -p emdb-feed-server [-- path/to/db.emdb]` (the database is
//! `feed-server.emdb` in the current directory by default); it listens on 127.0.0.1, port 3000
//! or `PORT`.

use std::error::Error;
use std::path::PathBuf;

use emdb::Emdb;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let path =
        std::env::args_os().nth(1).map_or_else(|| PathBuf::from("feed-server.emdb"), PathBuf::from);
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|e| format!("PORT={port:?}: {e}"))?,
        Err(_) => 3000,
    };
    let db = Emdb::open(&path)?;
    let app = emdb_feed_server::app(&db)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);

    println!("serving {} on {url}", path.display());
    println!("follow the feed:  curl -N {url}/users/events");
    println!(
        "insert a user:    curl -X POST {url}/users -H 'content-type: application/json' \
         -d '{{\"id\": 1, \"name\": \"Ada\", \"email\": \"ada@example.com\"}}'"
    );
    println!(
        "update it:        curl -X POST {url}/users -H 'content-type: application/json' \
         -d '{{\"id\": 1, \"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\"}}'"
    );
    println!("remove it:        curl -X DELETE {url}/users/1");

    // Ctrl-C ends the process; emdb recovers its log at the next open.
    axum::serve(listener, app).await?;
    Ok(())
}
