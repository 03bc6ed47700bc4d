//! Source-network checks for support accounts: `10.8.0.0/24`, `fd00::/64`, or a single address.

use std::net::IpAddr;

/// Parses one network; the error names the offending text.
pub fn parse(text: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an address or CIDR network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("`{text}` has a prefix length outside 0–{max}"))?,
        None => max,
    };
    Ok((ip, len))
}

pub fn contains(net: (IpAddr, u8), ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (net.0, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if net.1 == 0 {
                0
            } else {
                u32::MAX << (32 - net.1)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if net.1 == 0 {
                0
            } else {
                u128::MAX << (128 - net.1)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// True when `ip` lies in any of the comma-separated networks.
pub fn any_contains(list: &str, ip: IpAddr) -> bool {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .filter_map(|s| parse(s.trim()).ok())
        .any(|n| contains(n, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(any_contains("10.8.0.0/24", ip("10.8.0.77")));
        assert!(!any_contains("10.8.0.0/24", ip("10.8.1.1")));
        assert!(any_contains("192.0.2.5", ip("192.0.2.5")));
        assert!(any_contains("fd00::/64", ip("fd00::1")));
        assert!(!any_contains("fd00::/64", ip("fd00:0:0:1::1")));
        assert!(any_contains("127.0.0.0/8", ip("::ffff:127.0.0.1")));
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("nonsense").is_err());
    }
}
