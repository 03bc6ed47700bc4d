//! Headless Chromium for browser tests: runs its own chromedriver and drives it through thirtyfour.
//!
//! The WebDriver protocol itself is thirtyfour's (docs/ARCHITECTURE.md, crate table); this module
//! owns what a library cannot know about us: which Chromium binary and flags (no traffic off
//! loopback), a chromedriver process per browser that is killed by PID, a viewport of an exact
//! size, and how a test waits for a form submission's page. Every command is bounded in time, so
//! a broken browser fails a test instead of hanging CI.

// A toolkit for many tests in one test binary: no single test uses it all.
#![allow(dead_code)]

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thirtyfour::PageLoadStrategy;
use thirtyfour::prelude::*;

/// Upper bound for one ordinary WebDriver command.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Chromium's first start on a cold, busy two-core machine can be slow.
const NEW_SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long chromedriver gets to start listening on its port.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Kept below `CALL_TIMEOUT` so chromedriver reports a WebDriver `timeout`
/// error (with its message) before our own timeout fires.
const PAGE_LOAD_MS: u64 = 25_000;
const SCRIPT_MS: u64 = 25_000;
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

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
/// Prefer [`Browser::quit`]; dropping a `Browser` also ends the session
/// (thirtyfour's blocking fallback) and then kills the chromedriver child,
/// and never touches any other process.
pub struct Browser {
    driver: Option<Child>,
    // `None` only between a failed start and the drop that follows it.
    session: Option<WebDriver>,
    port: u16,
    // Held only so the profile and driver log outlive Chromium.
    profile: tempfile::TempDir,
}

/// A reference to a DOM element in the session that found it.
#[derive(Clone)]
pub struct Element {
    inner: WebElement,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("driver_pid", &self.driver_pid())
            .field("port", &self.port)
            .field(
                "session",
                &self.session.as_ref().map(|s| s.session_id().to_string()),
            )
            .finish()
    }
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("id", &self.inner.element_id().to_string())
            .finish()
    }
}

/// Runs one thirtyfour command with an upper bound on its time, naming it in the error.
async fn bounded<T>(
    what: &str,
    limit: Duration,
    command: impl Future<Output = WebDriverResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, command).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(format!("{what}: {}", brief(&e))),
        Err(_) => Err(format!(
            "{what}: no answer from chromedriver within {limit:?}"
        )),
    }
}

/// thirtyfour's error text on one line, without chromedriver's session info and native stack.
fn brief(error: &WebDriverError) -> String {
    let text = error.to_string();
    let text = text.split("(Session info").next().unwrap_or_default();
    let text = text.split("Stacktrace:").next().unwrap_or_default();
    snippet(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless
    /// Chromium session with a fresh profile and a `width`×`height` viewport.
    pub async fn start(width: u32, height: u32) -> Result<Browser, String> {
        Self::start_with(width, height, &[]).await
    }

    /// [`Browser::start`] with a dark colour scheme preferred (`prefers-color-scheme: dark`), as
    /// a person whose system is set to dark sees the pages.
    pub async fn start_dark(width: u32, height: u32) -> Result<Browser, String> {
        // Blink's PreferredColorScheme: 0 is dark.
        Self::start_with(width, height, &["--blink-settings=preferredColorScheme=0"]).await
    }

    async fn start_with(width: u32, height: u32, extra: &[&str]) -> Result<Browser, String> {
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
                session: None,
                port,
                profile,
            };
            match browser.wait_driver_listening().await {
                Ok(()) => {}
                Err(ReadyError::Exited(why)) => {
                    last_error = format!("{why}{}", log_tail(&log_path));
                    continue;
                }
                Err(ReadyError::Fatal(why)) => {
                    return Err(format!("{why}{}", log_tail(&log_path)));
                }
            }
            let caps =
                chrome_capabilities(&chrome_bin, browser.profile.path(), width, height, extra)
                    .map_err(|e| format!("browser: capabilities: {e}"))?;
            // An HTTP(S)_PROXY in the developer's environment must not carry
            // commands meant for our chromedriver on loopback.
            let http = reqwest::Client::builder()
                .no_proxy()
                .timeout(NEW_SESSION_TIMEOUT)
                .build()
                .map_err(|e| format!("browser: HTTP client: {e}"))?;
            let connect = WebDriver::builder(format!("http://127.0.0.1:{port}"), caps)
                .client(http)
                .connect();
            let session = bounded("new session", NEW_SESSION_TIMEOUT, connect)
                .await
                .map_err(|e| format!("browser: {e}{}", log_tail(&log_path)))?;
            browser.session = Some(session);
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

    fn wd(&self) -> Result<&WebDriver, String> {
        self.session
            .as_ref()
            .ok_or_else(|| "browser: no WebDriver session".to_string())
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        bounded(&format!("goto({url})"), CALL_TIMEOUT, self.wd()?.goto(url)).await
    }

    pub async fn current_url(&self) -> Result<String, String> {
        let url = bounded("current_url", CALL_TIMEOUT, self.wd()?.current_url()).await?;
        Ok(url.to_string())
    }

    /// The id of the record whose card is open: the last path segment of the current address.
    pub async fn record_id(&self) -> Result<String, String> {
        let url = self.current_url().await?;
        let path = url.split(['?', '#']).next().unwrap_or_default();
        Ok(path.rsplit('/').next().unwrap_or_default().to_string())
    }

    pub async fn title(&self) -> Result<String, String> {
        bounded("title", CALL_TIMEOUT, self.wd()?.title()).await
    }

    pub async fn source(&self) -> Result<String, String> {
        bounded("source", CALL_TIMEOUT, self.wd()?.source()).await
    }

    /// Finds the first element matching `css` right now (no waiting).
    pub async fn find(&self, css: &str) -> Result<Element, String> {
        let inner = bounded(
            &format!("find({css})"),
            CALL_TIMEOUT,
            self.wd()?.find(By::Css(css)),
        )
        .await?;
        Ok(Element { inner })
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let found = bounded(
            &format!("find_all({css})"),
            CALL_TIMEOUT,
            self.wd()?.find_all(By::Css(css)),
        )
        .await?;
        Ok(found.into_iter().map(|inner| Element { inner }).collect())
    }

    /// Polls every 100 ms until an element matches `css` (thirtyfour's element query).
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let query = self.wd()?.query(By::Css(css)).wait(timeout, POLL);
        let inner = bounded(
            &format!("wait_for({css}) for {timeout:?}"),
            wait_limit(timeout),
            query.first(),
        )
        .await?;
        Ok(Element { inner })
    }

    /// Polls every 100 ms until the rendered text of `<body>` contains `needle`.
    pub async fn wait_for_text(&self, needle: &str, timeout: Duration) -> Result<(), String> {
        let wanted = needle.to_string();
        // A navigation can take the body away between find and read: such
        // errors mean "not yet", and the query looks again.
        let query = self
            .wd()?
            .query(By::Tag("body"))
            .ignore_errors(true)
            .with_text(move |text: &str| text.contains(wanted.as_str()))
            .wait(timeout, POLL);
        let what = format!("wait_for_text({needle:?}) for {timeout:?}");
        match bounded(&what, wait_limit(timeout), query.first()).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let page = self
                    .execute(
                        "return document.body ? document.body.innerText : '';",
                        Value::Null,
                    )
                    .await
                    .map(|text| snippet(text.as_str().unwrap_or_default()))
                    .unwrap_or_else(|read| read);
                Err(format!("{e}; page text: {page:?}"))
            }
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

    /// Types `keys` into whatever has the focus, as a person at the keyboard would: nothing is
    /// clicked or focused for them. WebDriver key codes ("\u{E004}" Tab, "\u{E007}" Enter) count.
    pub async fn press(&self, keys: &str) -> Result<(), String> {
        let chain = self.wd()?.action_chain().send_keys(keys);
        bounded("press", CALL_TIMEOUT, chain.perform()).await
    }

    /// Shift+Tab, `times` times: focus moves backwards.
    pub async fn press_shift_tab(&self, times: usize) -> Result<(), String> {
        let mut chain = self.wd()?.action_chain();
        for _ in 0..times {
            chain = chain
                .key_down(Key::Shift)
                .send_keys(Key::Tab)
                .key_up(Key::Shift);
        }
        bounded("press_shift_tab", CALL_TIMEOUT, chain.perform()).await
    }

    /// Clicks a submit button and waits (at most 30 s) for the resulting page.
    ///
    /// Navigation is detected by a marker planted in the old page's `window`:
    /// the new document lacks it even when the URL stays the same (a POST
    /// back to itself), and a changed URL also counts. Either way the wait
    /// ends only once `document.readyState` is `complete`. No WebDriver
    /// library offers this wait: WebDriver has no "navigation finished" event.
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
        self.execute(
            "window.__holdfastNavMarker = arguments[0];",
            json!([marker]),
        )
        .await
        .map_err(|e| format!("{what}: cannot mark the page: {e}"))?;
        let button = self.find(css_of_button).await?;
        button.click().await.map_err(|e| format!("{what}: {e}"))?;

        let start = Instant::now();
        let probe = "return [document.readyState, location.href, \
                     window.__holdfastNavMarker === arguments[0]];";
        loop {
            let last = match self.execute(probe, json!([marker])).await {
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
                Err(e) => e,
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
        // A busy machine may report the viewport before the resize settled: a few more rounds.
        for _ in 0..6 {
            let (w, h) = (
                u32::try_from(outer_w).map_err(|e| format!("{what}: {e}"))?,
                u32::try_from(outer_h).map_err(|e| format!("{what}: {e}"))?,
            );
            bounded(&what, CALL_TIMEOUT, self.wd()?.set_window_rect(0, 0, w, h)).await?;
            let inner = self
                .execute(
                    "return [window.innerWidth, window.innerHeight];",
                    Value::Null,
                )
                .await
                .map_err(|e| format!("{what}: measuring the viewport: {e}"))?;
            let (Some(got_w), Some(got_h)) = (inner[0].as_i64(), inner[1].as_i64()) else {
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
        let png = bounded(&what, CALL_TIMEOUT, self.wd()?.screenshot_as_png()).await?;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(format!("{what}: chromedriver did not return a PNG"));
        }
        std::fs::write(path, &png).map_err(|e| format!("{what}: {e}"))
    }

    /// All cookies visible to the current page, as W3C cookie objects.
    pub async fn cookies(&self) -> Result<Value, String> {
        let all = bounded("cookies", CALL_TIMEOUT, self.wd()?.get_all_cookies()).await?;
        serde_json::to_value(all).map_err(|e| format!("cookies: {e}"))
    }

    /// Runs `script` as a function body in the page (Execute Script, sync).
    /// `args` is the JSON array of arguments; `null` means none and any
    /// other value is passed as the single argument.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        let args = match args {
            Value::Null => Vec::new(),
            Value::Array(list) => list,
            single => vec![single],
        };
        let ret = bounded("execute", CALL_TIMEOUT, self.wd()?.execute(script, args)).await?;
        Ok(ret.json().clone())
    }

    /// Messages of SEVERE browser-log entries (console.error, uncaught
    /// exceptions, failed loads) since the previous call: chromedriver hands
    /// out each log entry only once.
    pub async fn console_errors(&self) -> Result<Vec<String>, String> {
        let entries = bounded("console_errors", CALL_TIMEOUT, self.wd()?.browser_log()).await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| e.message)
            .collect())
    }

    /// Ends the session (Chromium exits), then kills and reaps chromedriver.
    /// The driver is stopped even when ending the session fails.
    pub async fn quit(mut self) -> Result<(), String> {
        let ended = match self.session.take() {
            Some(session) => {
                bounded("quit: deleting the session", CALL_TIMEOUT, session.quit()).await
            }
            None => Ok(()),
        };
        let stopped = match self.driver.take() {
            Some(child) => stop_driver(child).await,
            None => Ok(()),
        };
        ended.and(stopped)
    }

    /// Chromedriver binds its port once it can serve; a child that exits
    /// first most likely lost the port to someone else.
    async fn wait_driver_listening(&mut self) -> Result<(), ReadyError> {
        let start = Instant::now();
        loop {
            let exited = self.driver.as_mut().map(Child::try_wait);
            if let Some(Ok(Some(status))) = exited {
                self.driver = None;
                return Err(ReadyError::Exited(format!(
                    "chromedriver exited early ({status}) on port {}",
                    self.port
                )));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if start.elapsed() >= DRIVER_READY_TIMEOUT {
                return Err(ReadyError::Fatal(format!(
                    "browser: chromedriver on port {} not listening after {DRIVER_READY_TIMEOUT:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Chrome capabilities: our binary, flags and profile; self-signed test certificates accepted;
/// the browser log kept for [`Browser::console_errors`].
fn chrome_capabilities(
    chrome: &Path,
    profile: &Path,
    width: u32,
    height: u32,
    extra: &[&str],
) -> WebDriverResult<thirtyfour::ChromeCapabilities> {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&chrome.display().to_string())?;
    for arg in CHROME_ARGS.iter().chain(extra) {
        caps.add_arg(arg)?;
    }
    caps.add_arg(&format!(
        "--user-data-dir={}",
        profile.join("profile").display()
    ))?;
    caps.add_arg(&format!("--window-size={width},{height}"))?;
    caps.accept_insecure_certs(true)?;
    caps.set_page_load_strategy(PageLoadStrategy::Normal)?;
    caps.set(
        "timeouts",
        json!({ "implicit": 0, "pageLoad": PAGE_LOAD_MS, "script": SCRIPT_MS }),
    )?;
    caps.set("goog:loggingPrefs", json!({ "browser": "ALL" }))?;
    Ok(caps)
}

enum ReadyError {
    /// The child died: most likely the port was taken, so try another.
    Exited(String),
    Fatal(String),
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium is a child of chromedriver and could outlive a killed
        // driver, so the session ends first, then the driver we started is
        // killed. Not through thirtyfour's own drop: it blocks this thread on
        // a request over a pooled connection whose task lives on this same
        // runtime (a #[tokio::test] has one thread), so it would wait out
        // its whole timeout (measured: 60 s). `leak` tells thirtyfour (and
        // every Element still holding the session) that it has ended.
        if let Some(session) = self.session.take() {
            let id = session.session_id().to_string();
            let _ = session.leak();
            let _ = blocking_delete_session(self.port, &id, Duration::from_secs(5));
        }
        if let Some(child) = self.driver.take() {
            kill_and_reap(child);
        }
    }
}

/// DELETE /session/{id} on a fresh std connection, for `Drop`, where no
/// async runtime may be driven. Reading the reply is how we learn Chromium
/// has been closed; chromedriver may drop the request if Chromium is gone,
/// and the kill follows anyway.
fn blocking_delete_session(port: u16, session: &str, limit: Duration) -> std::io::Result<()> {
    use std::io::{Read as _, Write as _};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&addr, limit)?;
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = [0u8; 512];
    let _ = stream.read(&mut reply)?;
    Ok(())
}

impl Element {
    pub async fn click(&self) -> Result<(), String> {
        bounded("element click", CALL_TIMEOUT, self.inner.click()).await
    }

    pub async fn send_keys(&self, text: &str) -> Result<(), String> {
        bounded(
            "element send_keys",
            CALL_TIMEOUT,
            self.inner.send_keys(text),
        )
        .await
    }

    pub async fn clear(&self) -> Result<(), String> {
        bounded("element clear", CALL_TIMEOUT, self.inner.clear()).await
    }

    /// The rendered (visible) text of the element.
    pub async fn text(&self) -> Result<String, String> {
        bounded("element text", CALL_TIMEOUT, self.inner.text()).await
    }

    /// The attribute `name`, or `None` when the element does not have it.
    pub async fn attr(&self, name: &str) -> Result<Option<String>, String> {
        bounded(
            &format!("element attr({name})"),
            CALL_TIMEOUT,
            self.inner.attr(name),
        )
        .await
    }

    /// The DOM property `name` (e.g. `value` of an input as typed so far), as
    /// JSON: read by script, because thirtyfour's `prop` turns every value into text.
    pub async fn prop(&self, name: &str) -> Result<Value, String> {
        let what = format!("element prop({name})");
        let element = self.inner.to_json().map_err(|e| format!("{what}: {e}"))?;
        let script = self.inner.handle().execute(
            "return arguments[0][arguments[1]];",
            vec![element, json!(name)],
        );
        let ret = bounded(&what, CALL_TIMEOUT, script).await?;
        Ok(ret.json().clone())
    }

    pub async fn is_displayed(&self) -> Result<bool, String> {
        bounded(
            "element is_displayed",
            CALL_TIMEOUT,
            self.inner.is_displayed(),
        )
        .await
    }
}

/// The whole of an element query: its own timeout plus a little for the last find in flight.
fn wait_limit(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(5)
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

fn snippet(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
