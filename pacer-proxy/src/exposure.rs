//! Whoever reaches the proxy spends its users' API budget (and, with a
//! key-less setup behind it, their key): on anything but loopback it must
//! say so, loudly.

use std::net::IpAddr;

/// The warning for a proxy bound to `host`, or `None` on loopback.
pub fn warning(host: IpAddr, port: u16) -> Option<String> {
    if host.is_loopback() {
        return None;
    }
    let reach = if host.is_unspecified() {
        "every network interface of this machine".to_string()
    } else {
        format!("{host}")
    };
    Some(format!(
        "\n\
         !!! WARNING: the proxy listens on {reach} (port {port}), not only on loopback.\n\
         !!! Anyone who can reach it can send requests to the API through it, spending\n\
         !!! your rate budget. Bind it to 127.0.0.1 (the default) unless this machine's\n\
         !!! firewall or network lets only your own pages reach it.\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_quiet_and_anything_else_warns() {
        for quiet in ["127.0.0.1", "::1", "127.0.0.2"] {
            assert_eq!(warning(quiet.parse().unwrap(), 8080), None, "{quiet}");
        }
        let all = warning("0.0.0.0".parse().unwrap(), 8080).unwrap();
        assert!(all.contains("WARNING"), "{all}");
        assert!(all.contains("every network interface"), "{all}");
        let lan = warning("192.168.1.20".parse().unwrap(), 9000).unwrap();
        assert!(
            lan.contains("192.168.1.20") && lan.contains("9000"),
            "{lan}"
        );
        assert!(warning("::".parse().unwrap(), 1).is_some());
    }
}
