//! The installed `holdfast.socket` unit as systemd would load it: which file wins, its drop-ins,
//! and the `ListenStream=` addresses they leave, so `holdfast doctor` can compare them with
//! `listen` (under socket activation the unit decides where holdfast listens, not the config).

use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The socket unit's file name.
pub const UNIT: &str = "holdfast.socket";

/// systemd's unit directories for system units, highest priority first (systemd.unit(5)); `/lib`
/// is Debian's, the package installs there (the same folder as `/usr/lib` on a merged-/usr system).
pub const UNIT_DIRS: [&str; 5] = [
    "etc/systemd/system",
    "run/systemd/system",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
];

/// Where the unit's HTTPS socket listens, as read from the files under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No `holdfast.socket` (a binary install): holdfast binds `listen` itself.
    NoUnit,
    /// The unit is masked (a link to /dev/null): systemd never starts it.
    Masked(PathBuf),
    /// The unit and the addresses its `ListenStream=` lines leave, each with the file that set it.
    Listens {
        unit: PathBuf,
        streams: Vec<(String, PathBuf)>,
    },
}

/// Why the unit files could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct UnitError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Reads `holdfast.socket` and its drop-ins (`holdfast.socket.d/*.conf`) under `root` (`/` on
/// the machine itself; a test's folder, or a mounted image) as systemd merges them: the unit file
/// from the first directory of [`UNIT_DIRS`] that has one, then every drop-in, a file name in a
/// higher-priority directory hiding the same name in a lower one, applied in file-name order. An
/// empty `ListenStream=` clears the addresses set before it.
pub fn read(root: &Path) -> Result<Found, UnitError> {
    let dirs: Vec<PathBuf> = UNIT_DIRS.iter().map(|d| root.join(d)).collect();
    let Some(unit) = dirs
        .iter()
        .map(|d| d.join(UNIT))
        .find(|p| p.symlink_metadata().is_ok())
    else {
        return Ok(Found::NoUnit);
    };
    let masked = std::fs::read_link(&unit).is_ok_and(|t| t == Path::new("/dev/null"))
        || std::fs::metadata(&unit).is_ok_and(|m| m.len() == 0);
    if masked {
        return Ok(Found::Masked(unit));
    }
    let mut dropins: std::collections::BTreeMap<std::ffi::OsString, PathBuf> = Default::default();
    for dir in &dirs {
        let d = dir.join(format!("{UNIT}.d"));
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(UnitError { path: d, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| UnitError {
                path: d.clone(),
                source,
            })?;
            let name = entry.file_name();
            if Path::new(&name).extension().is_some_and(|e| e == "conf") {
                // Higher-priority directories come first; theirs hide the same name below.
                dropins.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    let mut streams = Vec::new();
    for file in std::iter::once(&unit).chain(dropins.values()) {
        let text = std::fs::read_to_string(file).map_err(|source| UnitError {
            path: file.clone(),
            source,
        })?;
        for value in listen_streams(&text) {
            if value.is_empty() {
                streams.clear();
            } else {
                streams.push((value, file.clone()));
            }
        }
    }
    Ok(Found::Listens { unit, streams })
}

/// The `ListenStream=` values of the `[Socket]` section, in order (an empty one included).
fn listen_streams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut joined = String::new();
    for raw in text.lines() {
        // A trailing backslash continues the line (systemd.syntax(7)).
        if let Some(part) = raw.strip_suffix('\\') {
            joined.push_str(part);
            joined.push(' ');
            continue;
        }
        joined.push_str(raw);
        let line = std::mem::take(&mut joined);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = line.to_string();
            continue;
        }
        if section != "[Socket]" {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "ListenStream"
        {
            out.push(value.trim().to_string());
        }
    }
    out
}

/// The TCP address a `ListenStream=` value names: a port alone is `[::]:port`, which systemd
/// binds for IPv6 and IPv4 both. `None` for what holdfast cannot serve on (a Unix socket path, an
/// abstract or vsock socket).
pub fn stream_address(value: &str) -> Option<SocketAddr> {
    if let Ok(port) = value.parse::<u16>() {
        return Some(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_is_the_ipv6_wildcard_and_paths_are_not_addresses() {
        assert_eq!(stream_address("443"), "[::]:443".parse().ok());
        assert_eq!(
            stream_address("192.0.2.10:8443"),
            "192.0.2.10:8443".parse().ok()
        );
        for v in ["/run/holdfast.sock", "@abstract", "vsock:2:443", "host:443"] {
            assert_eq!(stream_address(v), None, "{v}");
        }
    }

    #[test]
    fn only_listen_stream_of_the_socket_section_counts() {
        let text = "[Unit]\nListenStream=1.1.1.1:1\n[Socket]\n# ListenStream=2.2.2.2:2\n\
                    ListenStream = 0.0.0.0:443\nListenStream=\nListenStream=\\\n 127.0.0.1:8443\n";
        assert_eq!(listen_streams(text), ["0.0.0.0:443", "", "127.0.0.1:8443"]);
    }
}
