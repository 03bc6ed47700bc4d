//! Minimal W3C WebDriver client that runs its own chromedriver + headless Chromium for browser tests.
//!
//! Only tokio, hyper 1 (client, http1), hyper-util (tokio), http-body-util,
//! serde_json, base64, tempfile and std are used, so the module drops into the
//! integration test binary without new dependencies. Every network call goes to
//! the chromedriver we spawned on 127.0.0.1, every call has a timeout and every
//! wait is bounded, so a broken browser fails a test instead of hanging CI.

// A toolkit for many tests in one test binary: no single test uses it all.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Upper bound for one ordinary WebDriver command.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Chromium's first start on a cold, busy two-core machine can be slow.
const NEW_SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long chromedriver gets to answer `/status` with `ready: true`.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Kept below `CALL_TIMEOUT` so chromedriver reports a WebDriver `timeout`
/// error (with its message) before our HTTP timeout fires.
const PAGE_LOAD_MS: u64 = 25_000;
const SCRIPT_MS: u64 = 25_000;
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);
/// W3C's fixed key for element references in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Flags for a quiet, sandbox-free headless run. The network ones keep
/// Chromium from phoning Google: only 127.0.0.1 / localhost may be contacted.
const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--password-store=basic",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    // Essential, not belt-and-braces: with only the flags above, Chromium 156
    // still resolves start.duckduckgo.com (search preconnect),
    // clients2.google.com, update.googleapis.com and accounts.google.com,
    // sending DNS queries to the system resolver. With this rule every host
    // name but the two loopback ones fails inside Chromium, before any DNS.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
];

/// A headless Chromium session driven through a chromedriver we own.
///
/// Prefer [`Browser::quit`]; dropping a `Browser` also ends the session and
/// kills the chromedriver child (best effort, blocking for at most a few
/// seconds), and never touches any other process.
pub struct Browser {
    driver: Option<Child>,
    wire: Wire,
    // Held only so the profile and driver log outlive Chromium.
    profile: tempfile::TempDir,
}

/// A reference to a DOM element in the session that found it.
#[derive(Clone)]
pub struct Element {
    id: String,
    wire: Wire,
}

/// Where to send commands: cheap to clone so elements need no lifetime.
#[derive(Clone)]
struct Wire {
    port: u16,
    session: Arc<str>,
}

/// A failed command: the W3C error code (or a local kind) plus message.
/// Waits need the code to tell "not there yet" from "broken".
struct Fault {
    code: String,
    message: String,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Chromedriver messages usually begin with the code already.
        if self.message.starts_with(&self.code) {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl Fault {
    fn local(code: &str, message: impl Into<String>) -> Fault {
        Fault {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("driver_pid", &self.driver_pid())
            .field("port", &self.wire.port)
            .field("session", &self.wire.session)
            .finish()
    }
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element").field("id", &self.id).finish()
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// Chromium session with a fresh profile and a `width`×`height` viewport.
    pub async fn start(width: u32, height: u32) -> Result<Browser, String> {
        let driver_bin = find_binary(&["chromedriver"], &["/usr/bin/chromedriver"])
            .ok_or_else(|| missing("chromedriver"))?;
        // Debian's /usr/bin/chromium is a shell wrapper that exports Google
        // API keys and adds remote-extension flags; the real binary avoids both.
        let chrome_bin = find_binary(
            &["chromium", "chromium-browser"],
            &["/usr/lib/chromium/chromium", "/usr/bin/chromium"],
        )
        .ok_or_else(|| missing("chromium"))?;
        let mut last_error = String::new();
        // The port is free when we pick it but another process may take it
        // before chromedriver binds; chromedriver then exits and we retry.
        for _ in 0..3 {
            let profile = tempfile::Builder::new()
                .prefix("holdfast-browser-")
                .tempdir()
                .map_err(|e| format!("browser: cannot create a temporary profile dir: {e}"))?;
            let log_path = profile.path().join("chromedriver.log");
            let port = free_port()?;
            let child = Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log_path.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("browser: cannot run {}: {e}", driver_bin.display()))?;
            // From here on, Drop reaps the child on every early return.
            let mut browser = Browser {
                driver: Some(child),
                wire: Wire {
                    port,
                    session: Arc::from(""),
                },
                profile,
            };
            match browser.wait_driver_ready().await {
                Ok(()) => {}
                Err(ReadyError::Exited(why)) => {
                    last_error = format!("{why}{}", log_tail(&log_path));
                    continue;
                }
                Err(ReadyError::Fatal(why)) => {
                    return Err(format!("{why}{}", log_tail(&log_path)));
                }
            }
            let session = browser
                .new_session(&chrome_bin, width, height)
                .await
                .map_err(|e| format!("browser: new session failed: {e}{}", log_tail(&log_path)))?;
            browser.wire.session = Arc::from(session);
            browser.set_window_size(width, height).await?;
            return Ok(browser);
        }
        Err(format!(
            "browser: chromedriver could not start on 3 different ports: {last_error}"
        ))
    }

    /// PID of the chromedriver process this browser started (`None` after quit).
    pub fn driver_pid(&self) -> Option<u32> {
        self.driver.as_ref().map(Child::id)
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.wire
            .session_cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
            .map_err(|e| format!("goto({url}): {e}"))
    }

    pub async fn current_url(&self) -> Result<String, String> {
        self.wire
            .session_string("/url")
            .await
            .map_err(|e| format!("current_url: {e}"))
    }

    pub async fn title(&self) -> Result<String, String> {
        self.wire
            .session_string("/title")
            .await
            .map_err(|e| format!("title: {e}"))
    }

    pub async fn source(&self) -> Result<String, String> {
        self.wire
            .session_string("/source")
            .await
            .map_err(|e| format!("source: {e}"))
    }

    /// Finds the first element matching `css` right now (no waiting).
    pub async fn find(&self, css: &str) -> Result<Element, String> {
        self.find_raw(css, CALL_TIMEOUT)
            .await
            .map_err(|e| format!("find({css}): {e}"))
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let value = self
            .wire
            .session_cmd(Method::POST, "/elements", Some(by_css(css)))
            .await
            .map_err(|e| format!("find_all({css}): {e}"))?;
        let list = value
            .as_array()
            .ok_or_else(|| format!("find_all({css}): expected a list, got {value}"))?;
        list.iter()
            .map(|v| self.element_from(v))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("find_all({css}): {e}"))
    }

    /// Polls every 100 ms until an element matches `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let start = Instant::now();
        loop {
            let fault = match self.find_raw(css, poll_call_timeout(start, timeout)).await {
                Ok(el) => return Ok(el),
                Err(f) => f,
            };
            // A bad selector or a dead session will not heal by waiting.
            if !matches!(
                fault.code.as_str(),
                "no such element" | "stale element reference" | "timeout"
            ) {
                return Err(format!("wait_for({css}): {fault}"));
            }
            if start.elapsed() >= timeout {
                return Err(format!(
                    "wait_for({css}): timed out after {timeout:?} ({fault})"
                ));
            }
            tokio::time::sleep(POLL.min(timeout.saturating_sub(start.elapsed()))).await;
        }
    }

    /// Polls every 100 ms until `document.body.innerText` contains `needle`.
    pub async fn wait_for_text(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let read = self
                .wire
                .execute(
                    "return document.body ? document.body.innerText : '';",
                    json!([]),
                    poll_call_timeout(start, timeout),
                )
                .await;
            let last = match read {
                Ok(Value::String(text)) if text.contains(needle) => return Ok(()),
                Ok(Value::String(text)) => format!("page text: {:?}", snippet(&text)),
                Ok(other) => format!("unexpected script result {other}"),
                // Reading during a navigation can fail transiently; keep polling.
                Err(f) => f.to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(format!(
                    "wait_for_text({needle:?}): not found after {timeout:?}; {last}"
                ));
            }
            tokio::time::sleep(POLL.min(timeout.saturating_sub(start.elapsed()))).await;
        }
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), String> {
        let el = self.find(css).await?;
        el.clear().await.map_err(|e| format!("fill({css}): {e}"))?;
        el.send_keys(text)
            .await
            .map_err(|e| format!("fill({css}): {e}"))
    }

    pub async fn click(&self, css: &str) -> Result<(), String> {
        let el = self.find(css).await?;
        el.click().await.map_err(|e| format!("click({css}): {e}"))
    }

    /// Clicks a submit button and waits (at most 30 s) for the resulting page.
    ///
    /// Navigation is detected by a marker planted in the old page's `window`:
    /// the new document lacks it even when the URL stays the same (a POST
    /// back to itself), and a changed URL also counts. Either way the wait
    /// ends only once `document.readyState` is `complete`.
    pub async fn submit_form(&self, css_of_button: &str) -> Result<(), String> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let what = format!("submit_form({css_of_button})");
        let before = self
            .current_url()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let marker = format!(
            "hf-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        self.wire
            .execute(
                "window.__holdfastNavMarker = arguments[0];",
                json!([marker]),
                CALL_TIMEOUT,
            )
            .await
            .map_err(|e| format!("{what}: cannot mark the page: {e}"))?;
        let button = self.find(css_of_button).await?;
        button.click().await.map_err(|e| format!("{what}: {e}"))?;

        let start = Instant::now();
        let probe = "return [document.readyState, location.href, \
                     window.__holdfastNavMarker === arguments[0]];";
        loop {
            let state = self
                .wire
                .execute(
                    probe,
                    json!([marker]),
                    poll_call_timeout(start, SUBMIT_TIMEOUT),
                )
                .await;
            let last = match state {
                Ok(v) => {
                    let ready = v[0].as_str() == Some("complete");
                    let url = v[1].as_str().unwrap_or_default();
                    let same_doc = v[2].as_bool().unwrap_or(true);
                    if ready && (!same_doc || url != before) {
                        return Ok(());
                    }
                    format!("readyState={} url={url}", v[0])
                }
                // The old document may vanish mid-call; that is progress.
                Err(f) => f.to_string(),
            };
            if start.elapsed() >= SUBMIT_TIMEOUT {
                return Err(format!(
                    "{what}: no completed navigation away from {before} within {SUBMIT_TIMEOUT:?} ({last})"
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sizes the viewport (what CSS media queries see and screenshots
    /// capture) to `width`×`height` CSS pixels.
    ///
    /// Headless Chromium still reserves room for window decorations, so the
    /// outer window is set first and then corrected by the measured difference.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), String> {
        let what = format!("set_window_size({width}x{height})");
        let (want_w, want_h) = (i64::from(width), i64::from(height));
        let (mut outer_w, mut outer_h) = (want_w, want_h);
        for _ in 0..3 {
            self.wire
                .session_cmd(
                    Method::POST,
                    "/window/rect",
                    Some(json!({ "width": outer_w, "height": outer_h })),
                )
                .await
                .map_err(|e| format!("{what}: {e}"))?;
            let inner = self
                .wire
                .execute(
                    "return [window.innerWidth, window.innerHeight];",
                    json!([]),
                    CALL_TIMEOUT,
                )
                .await
                .map_err(|e| format!("{what}: measuring the viewport: {e}"))?;
            let (got_w, got_h) = (inner[0].as_i64(), inner[1].as_i64());
            let (Some(got_w), Some(got_h)) = (got_w, got_h) else {
                return Err(format!("{what}: unexpected viewport reading {inner}"));
            };
            if (got_w, got_h) == (want_w, want_h) {
                return Ok(());
            }
            outer_w += want_w - got_w;
            outer_h += want_h - got_h;
        }
        Err(format!(
            "{what}: viewport did not reach the requested size (window {outer_w}x{outer_h})"
        ))
    }

    /// Saves a PNG of the current viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<(), String> {
        let what = format!("screenshot({})", path.display());
        let value = self
            .wire
            .session_cmd(Method::GET, "/screenshot", None)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let encoded = value.as_str().ok_or_else(|| {
            format!(
                "{what}: expected base64 text, got {}",
                snippet(&value.to_string())
            )
        })?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("{what}: bad base64: {e}"))?;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(format!("{what}: chromedriver did not return a PNG"));
        }
        std::fs::write(path, &png).map_err(|e| format!("{what}: {e}"))
    }

    /// All cookies visible to the current page, as W3C cookie objects.
    pub async fn cookies(&self) -> Result<Value, String> {
        self.wire
            .session_cmd(Method::GET, "/cookie", None)
            .await
            .map_err(|e| format!("cookies: {e}"))
    }

    /// Runs `script` as a function body in the page (Execute Script, sync).
    /// `args` is the JSON array of arguments; `null` means none and any
    /// other value is passed as the single argument.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        let args = match args {
            Value::Null => json!([]),
            Value::Array(_) => args,
            single => json!([single]),
        };
        self.wire
            .execute(script, args, CALL_TIMEOUT)
            .await
            .map_err(|e| format!("execute: {e}"))
    }

    /// Messages of SEVERE browser-log entries (console.error, uncaught
    /// exceptions, failed loads) since the previous call: chromedriver hands
    /// out each log entry only once.
    pub async fn console_errors(&self) -> Result<Vec<String>, String> {
        let value = self
            .wire
            .session_cmd(Method::POST, "/se/log", Some(json!({ "type": "browser" })))
            .await
            .map_err(|e| format!("console_errors: {e}"))?;
        let entries = value
            .as_array()
            .ok_or_else(|| format!("console_errors: expected a list, got {value}"))?;
        Ok(entries
            .iter()
            .filter(|e| e["level"].as_str() == Some("SEVERE"))
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Ends the session (Chromium exits), then kills and reaps chromedriver.
    /// The driver is stopped even when ending the session fails.
    pub async fn quit(mut self) -> Result<(), String> {
        let ended = self
            .wire
            .call(
                Method::DELETE,
                &format!("/session/{}", self.wire.session),
                None,
                CALL_TIMEOUT,
            )
            .await
            .map(drop)
            .map_err(|e| format!("quit: deleting the session failed: {e}"));
        let stopped = match self.driver.take() {
            Some(child) => stop_driver(child).await,
            None => Ok(()),
        };
        ended.and(stopped)
    }

    async fn find_raw(&self, css: &str, limit: Duration) -> Result<Element, Fault> {
        let value = self
            .wire
            .call(
                Method::POST,
                &self.wire.path("/element"),
                Some(by_css(css)),
                limit,
            )
            .await?;
        self.element_from(&value)
    }

    fn element_from(&self, value: &Value) -> Result<Element, Fault> {
        let id = value[ELEMENT_KEY].as_str().ok_or_else(|| {
            Fault::local("protocol", format!("not an element reference: {value}"))
        })?;
        Ok(Element {
            id: id.to_string(),
            wire: self.wire.clone(),
        })
    }

    async fn wait_driver_ready(&mut self) -> Result<(), ReadyError> {
        let start = Instant::now();
        loop {
            let exited = self.driver.as_mut().map(Child::try_wait);
            if let Some(Ok(Some(status))) = exited {
                self.driver = None;
                return Err(ReadyError::Exited(format!(
                    "chromedriver exited early ({status}) on port {}",
                    self.wire.port
                )));
            }
            let probe = self
                .wire
                .call(Method::GET, "/status", None, Duration::from_secs(2))
                .await;
            if matches!(probe, Ok(ref v) if v["ready"].as_bool() == Some(true)) {
                return Ok(());
            }
            if start.elapsed() >= DRIVER_READY_TIMEOUT {
                return Err(ReadyError::Fatal(format!(
                    "browser: chromedriver on port {} not ready after {DRIVER_READY_TIMEOUT:?}",
                    self.wire.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_session(&self, chrome: &Path, width: u32, height: u32) -> Result<String, Fault> {
        let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            self.profile.path().join("profile").display()
        ));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "acceptInsecureCerts": true,
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": PAGE_LOAD_MS, "script": SCRIPT_MS },
                    "goog:chromeOptions": { "binary": chrome, "args": args },
                    "goog:loggingPrefs": { "browser": "ALL" }
                }
            }
        });
        let value = self
            .wire
            .call(Method::POST, "/session", Some(caps), NEW_SESSION_TIMEOUT)
            .await?;
        value["sessionId"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Fault::local("protocol", format!("no sessionId in {value}")))
    }
}

enum ReadyError {
    /// The child died: most likely the port was taken, so try another.
    Exited(String),
    Fatal(String),
}

impl Drop for Browser {
    fn drop(&mut self) {
        let Some(child) = self.driver.take() else {
            return;
        };
        // Chromium is a child of chromedriver and could outlive a killed
        // driver, so first ask the driver to close it (short, blocking, and
        // safe without a runtime), then kill the driver we started.
        if !self.wire.session.is_empty() {
            let _ = blocking_delete_session(&self.wire, Duration::from_secs(5));
        }
        kill_and_reap(child);
    }
}

impl Element {
    pub async fn click(&self) -> Result<(), String> {
        self.post("/click", json!({}))
            .await
            .map_err(|e| format!("element click: {e}"))
    }

    pub async fn send_keys(&self, text: &str) -> Result<(), String> {
        self.post("/value", json!({ "text": text }))
            .await
            .map_err(|e| format!("element send_keys: {e}"))
    }

    pub async fn clear(&self) -> Result<(), String> {
        self.post("/clear", json!({}))
            .await
            .map_err(|e| format!("element clear: {e}"))
    }

    /// The rendered (visible) text of the element.
    pub async fn text(&self) -> Result<String, String> {
        let v = self
            .get("/text")
            .await
            .map_err(|e| format!("element text: {e}"))?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("element text: expected a string, got {v}"))
    }

    /// The attribute `name`, or `None` when the element does not have it.
    pub async fn attr(&self, name: &str) -> Result<Option<String>, String> {
        let v = self
            .get(&format!("/attribute/{}", encode_segment(name)))
            .await
            .map_err(|e| format!("element attr({name}): {e}"))?;
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Ok(Some(other.to_string())),
        }
    }

    /// The DOM property `name` (e.g. `value` of an input as typed so far).
    pub async fn prop(&self, name: &str) -> Result<Value, String> {
        self.get(&format!("/property/{}", encode_segment(name)))
            .await
            .map_err(|e| format!("element prop({name}): {e}"))
    }

    pub async fn is_displayed(&self) -> Result<bool, String> {
        let v = self
            .get("/displayed")
            .await
            .map_err(|e| format!("element is_displayed: {e}"))?;
        v.as_bool()
            .ok_or_else(|| format!("element is_displayed: expected a bool, got {v}"))
    }

    async fn post(&self, suffix: &str, body: Value) -> Result<(), Fault> {
        let path = self.wire.path(&format!("/element/{}{suffix}", self.id));
        self.wire
            .call(Method::POST, &path, Some(body), CALL_TIMEOUT)
            .await
            .map(drop)
    }

    async fn get(&self, suffix: &str) -> Result<Value, Fault> {
        let path = self.wire.path(&format!("/element/{}{suffix}", self.id));
        self.wire.call(Method::GET, &path, None, CALL_TIMEOUT).await
    }
}

impl Wire {
    fn path(&self, suffix: &str) -> String {
        format!("/session/{}{suffix}", self.session)
    }

    async fn session_cmd(
        &self,
        method: Method,
        suffix: &str,
        body: Option<Value>,
    ) -> Result<Value, Fault> {
        self.call(method, &self.path(suffix), body, CALL_TIMEOUT)
            .await
    }

    async fn session_string(&self, suffix: &str) -> Result<String, Fault> {
        match self.session_cmd(Method::GET, suffix, None).await? {
            Value::String(s) => Ok(s),
            other => Err(Fault::local(
                "protocol",
                format!("expected a string, got {other}"),
            )),
        }
    }

    async fn execute(&self, script: &str, args: Value, limit: Duration) -> Result<Value, Fault> {
        let body = json!({ "script": script, "args": args });
        self.call(Method::POST, &self.path("/execute/sync"), Some(body), limit)
            .await
    }

    /// One command: returns the W3C `value`, or the W3C error as a `Fault`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        limit: Duration,
    ) -> Result<Value, Fault> {
        let what = format!("{method} {path}");
        let exchange = tokio::time::timeout(limit, http_exchange(self.port, method, path, body));
        let (status, bytes) = match exchange.await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(Fault::local("transport", format!("{what}: {e}"))),
            Err(_) => {
                return Err(Fault::local(
                    "timeout",
                    format!("{what}: no answer from chromedriver within {limit:?}"),
                ));
            }
        };
        let mut reply: Value = serde_json::from_slice(&bytes).map_err(|e| {
            Fault::local(
                "protocol",
                format!(
                    "{what}: HTTP {status}, body is not JSON ({e}): {}",
                    snippet(&String::from_utf8_lossy(&bytes))
                ),
            )
        })?;
        let value = reply["value"].take();
        if let Some(code) = value["error"].as_str() {
            // Chromedriver appends session info lines; the first part is the news.
            let message = value["message"].as_str().unwrap_or_default();
            let message = message
                .split("\n  (Session info")
                .next()
                .unwrap_or_default();
            return Err(Fault {
                code: code.to_string(),
                message: message.trim().to_string(),
            });
        }
        if status >= 400 {
            return Err(Fault::local(
                "protocol",
                format!(
                    "{what}: HTTP {status} without a W3C error: {}",
                    snippet(&value.to_string())
                ),
            ));
        }
        Ok(value)
    }
}

/// One HTTP/1.1 request on a fresh loopback connection; chromedriver is local
/// so connection reuse would save little and add state to get wrong.
async fn http_exchange(
    port: u16,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Bytes), String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let payload = match body {
        Some(v) => Bytes::from(v.to_string()),
        None => Bytes::new(),
    };
    // Chromedriver rejects requests whose Host is not a loopback name.
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
        .header(
            hyper::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(Full::new(payload))
        .map_err(|e| format!("request: {e}"))?;
    let exchange = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("read body: {e}"))?
            .to_bytes();
        Ok((status, body))
    };
    // Drive the connection in this task rather than spawning it, so a timed
    // out call leaves nothing running behind.
    tokio::pin!(exchange);
    tokio::pin!(conn);
    tokio::select! {
        reply = &mut exchange => reply,
        done = &mut conn => match done {
            // The server may close right after the last byte; the response
            // is then complete and buffered.
            Ok(()) => exchange.await,
            Err(e) => Err(format!("connection: {e}")),
        },
    }
}

/// Chromedriver drops the DELETE if Chromium is gone; the kill follows anyway.
fn blocking_delete_session(wire: &Wire, limit: Duration) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], wire.port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, limit)?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    write!(
        stream,
        "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        wire.session, wire.port
    )?;
    // Reading the reply is how we learn Chromium has been closed.
    let mut sink = [0u8; 512];
    let _ = stream.read(&mut sink)?;
    Ok(())
}

fn kill_and_reap(mut child: Child) {
    let _ = child.kill();
    // After SIGKILL the wait returns at once; it only collects the zombie.
    let _ = child.wait();
}

async fn stop_driver(mut child: Child) -> Result<(), String> {
    let pid = child.id();
    if let Ok(Some(_)) = child.try_wait() {
        return Ok(());
    }
    child
        .kill()
        .map_err(|e| format!("quit: cannot kill chromedriver {pid}: {e}"))?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        match child.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => return Err(format!("quit: waiting for chromedriver {pid}: {e}")),
        }
    }
    Err(format!(
        "quit: chromedriver {pid} still running 5 s after SIGKILL"
    ))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| format!("browser: cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("browser: {e}"))
}

/// First of `fixed` that exists, else the first of `names` found on PATH.
fn find_binary(names: &[&str], fixed: &[&str]) -> Option<PathBuf> {
    let fixed = fixed.iter().map(PathBuf::from);
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    let on_path = std::env::split_paths(&path_var)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .collect::<Vec<_>>();
    fixed.chain(on_path).find(|p| p.is_file())
}

fn missing(what: &str) -> String {
    format!(
        "browser: {what} not found; install chromium chromium-driver \
         (apt-get install -y chromium chromium-driver)"
    )
}

fn log_tail(log: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(log) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    format!(
        "\n--- chromedriver log tail ({}) ---\n{tail}",
        log.display()
    )
}

fn by_css(css: &str) -> Value {
    json!({ "using": "css selector", "value": css })
}

/// Per-call HTTP limit inside a wait: never more than a little past the
/// wait's own deadline, so the whole wait stays bounded.
fn poll_call_timeout(start: Instant, timeout: Duration) -> Duration {
    let remaining = timeout.saturating_sub(start.elapsed());
    (remaining + Duration::from_secs(5)).min(CALL_TIMEOUT)
}

fn snippet(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn encode_segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
