//! Test support: a loopback HTTP/1.1 server (127.0.0.1, port 0) whose routes
//! a test sets and changes between refreshes, counting the requests per path.
//! Real sockets, so the feed code runs its real HTTP client.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How a path answers.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// A response with a `Content-Length`.
    Body {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// A 200 without `Content-Length`: the body ends when the connection
    /// closes, so only reading can find it too large.
    Unsized { body: Vec<u8> },
    /// A 200 that declares `length` bytes but sends only `body`.
    Declared { length: u64, body: Vec<u8> },
    /// Reads the request and never answers (until the client closes).
    Hang,
}

impl Route {
    /// A 200 with `body`.
    pub(crate) fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self::Body {
            status: 200,
            content_type,
            body: body.into(),
        }
    }
}

#[derive(Default)]
struct Routes {
    routes: HashMap<String, Route>,
    hits: HashMap<String, usize>,
}

/// The server; stops when dropped.
pub(crate) struct TestServer {
    addr: SocketAddr,
    routes: Arc<Mutex<Routes>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let routes = Arc::new(Mutex::new(Routes::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (routes2, stop2) = (Arc::clone(&routes), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let routes = Arc::clone(&routes2);
                std::thread::spawn(move || serve(stream, &routes));
            }
        });
        Self {
            addr,
            routes,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn set(&self, path: &str, route: Route) {
        self.lock().routes.insert(path.to_owned(), route);
    }

    /// Requests received for `path` so far.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.lock().hits.get(path).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request, then closes the connection.
fn serve(mut stream: TcpStream, routes: &Mutex<Routes>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(reader);
    let mut request_line = String::new();
    if lines.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match lines.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let route = {
        let mut routes = routes.lock().unwrap_or_else(PoisonError::into_inner);
        *routes.hits.entry(path.clone()).or_default() += 1;
        routes.routes.get(&path).cloned()
    };
    let (head, body) = match route {
        None => (head(404, "text/plain", Some(9)), b"not found".to_vec()),
        Some(Route::Body {
            status,
            content_type,
            body,
        }) => (head(status, content_type, Some(body.len() as u64)), body),
        Some(Route::Unsized { body }) => (head(200, "application/octet-stream", None), body),
        Some(Route::Declared { length, body }) => {
            (head(200, "application/octet-stream", Some(length)), body)
        }
        Some(Route::Hang) => {
            // Until the client gives up and closes, or the read timeout.
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
            return;
        }
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

fn head(status: u16, content_type: &str, length: Option<u64>) -> String {
    let length = length.map_or(String::new(), |n| format!("Content-Length: {n}\r\n"));
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{length}Connection: close\r\n\r\n"
    )
}
