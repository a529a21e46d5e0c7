//! The `redis:` and `redis_endpoints:` sections: URLs, credentials from the
//! environment or files, and the TLS files of `rediss://` endpoints, all read
//! and checked at load time.

use std::path::PathBuf;

use super::{DEFAULT_REDIS_TIMEOUT, Validator};
use crate::config::raw::{At, RawRedis, RawRedisTls};
use crate::config::{Endpoint, Secret};
use crate::tls::{self, client::ClientTls, client::ClientTlsFiles};

impl Validator<'_> {
    fn secret(
        &mut self,
        field: &str,
        env_var: Option<At<String>>,
        file: Option<At<String>>,
        what: &str,
    ) -> Option<String> {
        match (env_var, file) {
            (Some(e), Some(_)) => {
                self.problem(
                    field,
                    &e,
                    format!("set only one of {what}_env and {what}_file"),
                );
                None
            }
            (Some(e), None) => match (self.env)(&e.value) {
                Some(v) => Some(v),
                None => {
                    self.problem(
                        &format!("{field}.{what}_env"),
                        &e,
                        format!("environment variable {} is not set", e.value),
                    );
                    None
                }
            },
            (None, Some(f)) => match std::fs::read_to_string(&f.value) {
                Ok(v) => Some(v.trim_end_matches(['\r', '\n']).to_string()),
                Err(err) => {
                    self.problem(
                        &format!("{field}.{what}_file"),
                        &f,
                        format!("cannot read {}: {err}", f.value),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    pub(super) fn endpoint(&mut self, field: &str, name: &str, raw: At<RawRedis>) -> Endpoint {
        let r = raw.value;
        let url = r.url.value.trim().to_string();
        match url::Url::parse(&url) {
            Ok(u) if !matches!(u.scheme(), "redis" | "rediss") => self.problem(
                &format!("{field}.url"),
                &r.url,
                format!("scheme {:?} is not redis:// or rediss://", u.scheme()),
            ),
            Ok(u) if u.password().is_some() || !u.username().is_empty() => self.problem(
                &format!("{field}.url"),
                &r.url,
                "credentials must not be inline in the URL; use username/username_env/username_file and password_env/password_file",
            ),
            Ok(_) => {}
            Err(e) => self.problem(&format!("{field}.url"), &r.url, format!("not a URL: {e}")),
        }
        let tls = self.redis_tls(field, &url, r.url.line, r.tls);
        let user_env_or_file = self.secret(field, r.username_env, r.username_file, "username");
        let username = r.username.or(user_env_or_file);
        let password = self
            .secret(field, r.password_env, r.password_file, "password")
            .map(Secret);
        let timeout = self.duration(
            &format!("{field}.timeout"),
            r.timeout,
            DEFAULT_REDIS_TIMEOUT,
        );
        Endpoint {
            name: name.to_string(),
            url,
            username,
            password,
            timeout,
            tls,
        }
    }

    /// The TLS files of a `rediss://` endpoint, read and checked now so that
    /// `check-config` refuses what no handshake could use.
    fn redis_tls(
        &mut self,
        field: &str,
        url: &str,
        url_line: u64,
        raw: Option<At<RawRedisTls>>,
    ) -> Option<ClientTlsFiles> {
        let parsed = url::Url::parse(url).ok();
        let secure = parsed.as_ref().is_some_and(|u| u.scheme() == "rediss");
        if !secure {
            if let Some(raw) = raw {
                self.problem(
                    &format!("{field}.tls"),
                    &raw,
                    "TLS settings need a rediss:// url (redis:// is plain text)",
                );
            }
            return None;
        }
        // The redis crate reads `#insecure` as "skip certificate checks",
        // which this build does not offer (no tls-rustls-insecure feature).
        if parsed.as_ref().and_then(|u| u.fragment()) == Some("insecure") {
            self.problem(
                &format!("{field}.url"),
                &At { value: (), line: url_line },
                "#insecure (no certificate verification) is not supported; give the server's CA in tls.ca_file",
            );
        }
        let Some(raw) = raw else {
            return Some(ClientTlsFiles::default());
        };
        let line = raw.line;
        let t = raw.value;
        let path = |v: &Option<At<String>>| v.as_ref().map(|a| PathBuf::from(a.value.trim()));
        let files = ClientTlsFiles {
            ca_file: path(&t.ca_file),
            cert_file: path(&t.cert_file),
            key_file: path(&t.key_file),
            server_name: t.server_name.as_ref().map(|a| a.value.trim().to_string()),
        };
        if let Err(e) = ClientTls::load(&files) {
            // Name the field the problem is in.
            let named = |p: &str| {
                [
                    ("ca_file", &t.ca_file),
                    ("cert_file", &t.cert_file),
                    ("key_file", &t.key_file),
                ]
                .into_iter()
                .find_map(|(n, v)| {
                    v.as_ref()
                        .filter(|a| a.value.trim() == p)
                        .map(|a| (n, a.line))
                })
            };
            let (name, at) = match &e {
                tls::client::Error::Read { path, .. }
                | tls::client::Error::NoCertificate { path, .. }
                | tls::client::Error::BadCa { path, .. } => named(path).unwrap_or(("", line)),
                tls::client::Error::NoKey { .. } => {
                    ("key_file", t.key_file.as_ref().map_or(line, |a| a.line))
                }
                tls::client::Error::BadPair { cert, .. } => named(cert).unwrap_or(("", line)),
                tls::client::Error::BadServerName { .. } => (
                    "server_name",
                    t.server_name.as_ref().map_or(line, |a| a.line),
                ),
                tls::client::Error::Incomplete => ("", line),
            };
            let f = if name.is_empty() {
                format!("{field}.tls")
            } else {
                format!("{field}.tls.{name}")
            };
            self.problem(
                &f,
                &At {
                    value: (),
                    line: at,
                },
                e,
            );
        }
        Some(files)
    }
}
