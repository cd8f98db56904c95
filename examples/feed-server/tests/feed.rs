//! The feed server end to end: a real server on a loopback port, a Server-Sent Events client
//! and HTTP requests written by hand over `TcpStream`s, checking that the feed names each write
//! to the table, in commit order, and nothing for a write that was refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::time::Duration;

use emdb::{Emdb, Record};
use emdb_feed_server::{FeedCommit, FeedEvent, User};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// How long any one read may wait: a broken feed fails the test instead of hanging it.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the app over `db` on a free loopback port.
async fn serve(db: &Emdb) -> SocketAddr {
    let app = emdb_feed_server::app(db).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends one request and reads the whole response: its status and body.
async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    timeout(TIMEOUT, stream.read_to_end(&mut response))
        .await
        .expect("the response did not come in time")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    (status, body.to_owned())
}

/// Stores `user` with `POST /users`.
async fn post_user(addr: SocketAddr, user: &User) -> (u16, String) {
    request(addr, "POST", "/users", &serde_json::to_string(user).unwrap()).await
}

/// A client of `GET /users/events`, decoding the chunked body into SSE events.
struct Feed {
    stream: TcpStream,
    /// Bytes read and not yet decoded from the chunked encoding.
    raw: Vec<u8>,
    /// The decoded body, from the first event not yet returned.
    body: Vec<u8>,
}

impl Feed {
    /// Opens the feed and waits for the response's head: from then on the server's watcher
    /// exists, and every later commit is on the feed.
    async fn open(addr: SocketAddr) -> Feed {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /users/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut feed = Feed { stream, raw: Vec::new(), body: Vec::new() };
        let end = loop {
            if let Some(i) = find(&feed.raw, b"\r\n\r\n") {
                break i;
            }
            feed.read_more().await;
        };
        let head = String::from_utf8(feed.raw.drain(..end + 4).collect()).unwrap().to_lowercase();
        assert!(head.starts_with("http/1.1 200"), "the feed's response: {head}");
        assert!(head.contains("content-type: text/event-stream"), "the feed's response: {head}");
        assert!(head.contains("transfer-encoding: chunked"), "the feed's response: {head}");
        feed
    }

    async fn read_more(&mut self) {
        let mut buf = [0; 4096];
        let n = timeout(TIMEOUT, self.stream.read(&mut buf))
            .await
            .expect("nothing came on the feed in time")
            .unwrap();
        assert!(n > 0, "the server closed the feed");
        self.raw.extend_from_slice(&buf[..n]);
    }

    /// Moves the complete chunks of `raw` into `body`.
    fn decode_chunks(&mut self) {
        while let Some(line_end) = find(&self.raw, b"\r\n") {
            let size = std::str::from_utf8(&self.raw[..line_end]).unwrap();
            let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
            assert!(size > 0, "the server ended the feed");
            let chunk_end = line_end + 2 + size;
            if self.raw.len() < chunk_end + 2 {
                return;
            }
            self.body.extend_from_slice(&self.raw[line_end + 2..chunk_end]);
            assert_eq!(&self.raw[chunk_end..chunk_end + 2], b"\r\n", "a chunk ends with CRLF");
            self.raw.drain(..chunk_end + 2);
        }
    }

    /// The next event that has data (keep-alive comments are skipped): its name and data.
    async fn next_event(&mut self) -> (String, String) {
        loop {
            self.decode_chunks();
            if let Some(end) = find(&self.body, b"\n\n") {
                let block = String::from_utf8(self.body.drain(..end + 2).collect()).unwrap();
                let (mut name, mut data) = (String::from("message"), None::<String>);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        v.trim_start().clone_into(&mut name);
                    } else if let Some(v) = line.strip_prefix("data:") {
                        let v = v.strip_prefix(' ').unwrap_or(v);
                        data = Some(data.map_or_else(|| v.to_owned(), |d| format!("{d}\n{v}")));
                    }
                }
                if let Some(data) = data {
                    return (name, data);
                }
            } else {
                self.read_more().await;
            }
        }
    }

    /// The next event, which must be a `commit`.
    async fn next_commit(&mut self) -> FeedCommit {
        let (name, data) = self.next_event().await;
        assert_eq!(name, "commit", "an event named `commit`, with data {data}");
        serde_json::from_str(&data).unwrap()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn user(id: u64, name: &str, email: &str) -> User {
    User { id, name: name.to_owned(), email: email.to_owned() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_names_an_insert_an_update_and_a_remove_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("feed.emdb")).unwrap();
    let addr = serve(&db).await;
    let mut feed = Feed::open(addr).await;

    let ada = user(7, "Ada", "ada@example.com");
    let lovelace = user(7, "Ada Lovelace", "ada@example.com");
    let (status, body) = post_user(addr, &ada).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<User>(&body).unwrap(), ada);
    assert_eq!(post_user(addr, &lovelace).await.0, 200);
    // Another user with the same email: refused, and nothing on the feed.
    let (status, body) = post_user(addr, &user(8, "Impostor", "ada@example.com")).await;
    assert_eq!(status, 409, "a unique violation is a conflict: {body}");
    assert!(body.contains("\"error\""), "the body says why: {body}");
    assert_eq!(request(addr, "DELETE", "/users/7", "").await.0, 204);
    assert_eq!(request(addr, "DELETE", "/users/7", "").await.0, 404, "already removed");

    let inserted = feed.next_commit().await;
    assert_eq!(inserted.events, vec![FeedEvent::Insert { key: 7, value: ada.clone() }]);
    let updated = feed.next_commit().await;
    assert_eq!(updated.events, vec![FeedEvent::Update { key: 7, old: ada, new: lovelace.clone() }]);
    let removed = feed.next_commit().await;
    assert_eq!(removed.events, vec![FeedEvent::Remove { key: 7, old: lovelace }]);
    assert!(inserted.lsn < updated.lsn && updated.lsn < removed.lsn, "lsns increase");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_of_the_feed_receives_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = Emdb::open(dir.path().join("feed.emdb")).unwrap();
    let addr = serve(&db).await;
    let mut first = Feed::open(addr).await;
    let mut second = Feed::open(addr).await;

    let grace = user(1, "Grace", "grace@example.com");
    assert_eq!(post_user(addr, &grace).await.0, 200);
    // A write straight to the table, not through the server, is on the feed too.
    User::table(&db).unwrap().remove(&1).unwrap();

    for feed in [&mut first, &mut second] {
        let inserted = feed.next_commit().await;
        assert_eq!(inserted.events, vec![FeedEvent::Insert { key: 1, value: grace.clone() }]);
        let removed = feed.next_commit().await;
        assert_eq!(removed.events, vec![FeedEvent::Remove { key: 1, old: grace.clone() }]);
    }
}
