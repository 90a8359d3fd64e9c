//! A real headless Chromium, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`), for the dashboard's tests. Only what those tests use:
//! navigate, run a script, find and click, type, read the console, call a
//! DevTools command, take a screenshot.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The element key of the W3C WebDriver protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

/// The browser and its driver, from `WARDEN_CHROMIUM` / `WARDEN_CHROMEDRIVER`
/// or the `PATH`; `Err` says what is missing.
pub fn find() -> Result<(PathBuf, PathBuf), String> {
    let browser = std::env::var_os("WARDEN_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path("chromium"))
        .or_else(|| on_path("chromium-browser"))
        .or_else(|| on_path("google-chrome"));
    let driver = std::env::var_os("WARDEN_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| on_path("chromedriver"));
    match (browser, driver) {
        (Some(browser), Some(driver)) => Ok((browser, driver)),
        (None, _) => Err("no chromium on the PATH (apt install chromium chromium-driver, or set WARDEN_CHROMIUM)".into()),
        (_, None) => Err("no chromedriver on the PATH (apt install chromium-driver, or set WARDEN_CHROMEDRIVER)".into()),
    }
}

/// The browser for a test, or `None` after saying loudly why not. With
/// `WARDEN_REQUIRE_BROWSER=1` (set by `.ci/run` once it has installed
/// Chromium) a missing browser fails the test instead.
pub fn launch(test: &str) -> Option<Browser> {
    let required = std::env::var_os("WARDEN_REQUIRE_BROWSER").is_some_and(|v| v == "1");
    let found = find().and_then(|(browser, driver)| Browser::start(&browser, &driver));
    match found {
        Ok(browser) => Some(browser),
        Err(why) if required => panic!("{test}: WARDEN_REQUIRE_BROWSER=1 but {why}"),
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// A free loopback port (bound and released; the race is harmless in tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A WebDriver session in a headless Chromium.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(browser: &std::path::Path, driver: &std::path::Path) -> Result<Browser, String> {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver.display()))?;
        let profile = tempfile::tempdir().unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut browser_ = Browser {
            driver: child,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser_
            .agent
            .get(&format!("{}/status", browser_.base))
            .call()
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer on port {port}",
                    driver.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser.to_str().unwrap(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--window-size=1600,1300",
                    format!("--user-data-dir={}", browser_._profile.path().display())],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let answer = browser_.request("POST", "/session", Some(capabilities))?;
        browser_.session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session from the driver: {answer}"))?
            .to_string();
        Ok(browser_)
    }

    fn request(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or(json!({}))),
        };
        let mut response = response.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_json()
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let value = body.get("value").cloned().unwrap_or(Value::Null);
        if status >= 400 {
            return Err(format!("{method} {path}: {status} {value}"));
        }
        Ok(value)
    }

    fn session(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Load `url` and wait for the document.
    pub fn goto(&self, url: &str) {
        self.request("POST", &self.session("/url"), Some(json!({ "url": url })))
            .unwrap();
    }

    /// Run `script` (a function body; `return` gives the value) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.try_eval(script).unwrap()
    }

    /// As [`eval`](Self::eval), with the error.
    pub fn try_eval(&self, script: &str) -> Result<Value, String> {
        self.request(
            "POST",
            &self.session("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Poll `script` until it returns something truthy or `within` passes.
    pub fn wait_for(&self, within: Duration, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.try_eval(script).unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {within:?} for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn element(&self, css: &str) -> Result<String, String> {
        let found = self.request(
            "POST",
            &self.session("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        found[ELEMENT]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no element {css}: {found}"))
    }

    /// Click the element `css` names, as a user would (the driver moves the
    /// pointer there); retried while the page replaces it.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let clicked = self.element(css).and_then(|id| {
                self.request("POST", &self.session(&format!("/element/{id}/click")), None)
            });
            match clicked {
                Ok(_) => return,
                Err(why) if Instant::now() > deadline => panic!("click {css}: {why}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Type `text` into the element `css` names.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).unwrap();
        self.request(
            "POST",
            &self.session(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        )
        .unwrap();
    }

    /// The console and network messages since the last call.
    pub fn console(&self) -> Vec<Value> {
        match self.request(
            "POST",
            &self.session("/se/log"),
            Some(json!({"type": "browser"})),
        ) {
            Ok(Value::Array(entries)) => entries,
            other => panic!("the browser log: {other:?}"),
        }
    }

    /// A DevTools protocol command.
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.request(
            "POST",
            &self.session("/goog/cdp/execute"),
            Some(json!({ "cmd": command, "params": params })),
        )
        .unwrap()
    }

    /// The whole page (beyond the window) as PNG bytes.
    pub fn screenshot(&self) -> Vec<u8> {
        let shot = self.cdp(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
