//! The drill's HTTP client: the admin API and the reading endpoints over
//! real loopback connections (ureq), and long-lived streams (MJPEG, SSE)
//! read from a plain socket with a deadline on every read.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// A response: its status and body.
#[derive(Debug)]
pub struct Resp {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "status {} with a body that is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Http {
    /// A client of `addr` with `token` on mutations, every request bounded by `timeout`.
    pub fn new(addr: &str, token: &str, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Http {
            agent,
            base: format!("http://{addr}"),
            token: token.to_string(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Resp, ureq::Error> {
        let mut resp = self.agent.get(format!("{}{path}", self.base)).call()?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()?;
        Ok(Resp { status, body })
    }

    /// `POST path` with the token and no body.
    pub fn post(&self, path: &str) -> Result<Resp, ureq::Error> {
        let mut resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .send_empty()?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec()?;
        Ok(Resp { status, body })
    }

    /// `GET path` answered `200` with JSON.
    pub fn json(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.get(path).with_context(|| format!("GET {path}"))?;
        if resp.status != 200 {
            bail!(
                "GET {path}: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
        resp.json()
    }
}

/// A long-lived `GET` read from a plain socket: the status was `200`, and
/// each `read` waits at most the deadline given at `open`.
pub struct Stream {
    socket: TcpStream,
}

impl Stream {
    /// Open `path` on `addr`; the head of the response is consumed and
    /// whatever body bytes came with it returned.
    pub fn open(
        addr: &str,
        path: &str,
        read_deadline: Duration,
    ) -> anyhow::Result<(Stream, Vec<u8>)> {
        let target = addr
            .parse()
            .with_context(|| format!("bad address {addr}"))?;
        let mut socket = TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
        socket.set_read_timeout(Some(read_deadline))?;
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = Vec::new();
        let mut buf = [0u8; 8192];
        let end = loop {
            let n = socket.read(&mut buf)?;
            if n == 0 {
                bail!("GET {path}: the server closed before the head");
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if head.len() > 64 << 10 {
                bail!("GET {path}: a head over 64 KiB");
            }
        };
        let status_line =
            String::from_utf8_lossy(&head[..head.iter().position(|&b| b == b'\r').unwrap_or(0)])
                .to_string();
        if !status_line.contains(" 200") {
            bail!("GET {path}: {status_line}");
        }
        Ok((Stream { socket }, head[end..].to_vec()))
    }

    /// Read what arrives; `Ok(0)` at the end; an error when nothing came within the deadline.
    pub fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.socket.read(buf)
    }
}

/// Count the occurrences of `needle` in `hay`, carrying the last bytes of
/// each chunk in `carry` so that a needle split across chunks still counts.
pub fn count_across(carry: &mut Vec<u8>, chunk: &[u8], needle: &[u8]) -> usize {
    carry.extend_from_slice(chunk);
    let count = carry.windows(needle.len()).filter(|w| *w == needle).count();
    let keep = needle.len().saturating_sub(1).min(carry.len());
    let drop = carry.len() - keep;
    carry.drain(..drop);
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_needle_split_across_chunks_counts_once() {
        let mut carry = Vec::new();
        let needle = b"image/jpeg";
        assert_eq!(count_across(&mut carry, b"xx image/j", needle), 0);
        assert_eq!(count_across(&mut carry, b"peg yy image/jpeg", needle), 2);
        assert_eq!(count_across(&mut carry, b"", needle), 0);
    }
}
