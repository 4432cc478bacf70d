//! Which paths need a login, shared by the server's redirect guard and the pages.

/// Path prefixes of the signed-in app; a logged-out browser is sent to `/login?next=…`.
pub const SIGNED_IN_PREFIXES: [&str; 8] = [
    "/dashboard",
    "/compose",
    "/schedule",
    "/posts",
    "/library",
    "/analytics",
    "/connections",
    "/settings",
];

/// Pages only for logged-out visitors; a logged-in browser is sent to the dashboard.
pub const SIGNED_OUT_ONLY: [&str; 2] = ["/login", "/signup"];

/// Whether `path` is part of the signed-in app.
pub fn needs_login(path: &str) -> bool {
    SIGNED_IN_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Where to go after logging in: `next` when it is a path on this site, else the dashboard.
/// Refuses `//host`, `/\host` and absolute URLs, which would send people elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && !next.chars().any(char::is_control) =>
        {
            next.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

/// `/login?next=<target>`, with `target` percent-encoded (RFC 3986 unreserved characters and
/// `/` stay as they are).
pub fn login_url(target: &str) -> String {
    let mut out = String::from("/login?next=");
    for byte in target.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_urls_encode_the_target() {
        assert_eq!(login_url("/settings"), "/login?next=/settings");
        assert_eq!(
            login_url("/settings/members?tab=a&b=c d"),
            "/login?next=/settings/members%3Ftab%3Da%26b%3Dc%20d"
        );
    }

    #[test]
    fn app_paths_need_login_and_lookalikes_do_not() {
        assert!(needs_login("/dashboard"));
        assert!(needs_login("/settings/members"));
        assert!(!needs_login("/settingsx"));
        assert!(!needs_login("/"));
        assert!(!needs_login("/invite/abc"));
    }

    #[test]
    fn next_only_leads_to_paths_on_this_site() {
        assert_eq!(safe_next(Some("/settings/members")), "/settings/members");
        assert_eq!(safe_next(Some("/invite/abc?x=1")), "/invite/abc?x=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard", "{bad}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }
}
