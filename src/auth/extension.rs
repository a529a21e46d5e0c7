//! The `kube-system/extension-apiserver-authentication` ConfigMap: where the
//! kube-apiserver publishes its client CA and front-proxy (requestheader)
//! settings for extension apiservers
//! (`k8s.io/apiserver/pkg/server/options/authentication.go`,
//! `ClientCertAuthenticationOptions` and `RequestHeaderAuthenticationOptions`).
//!
//! Keys: `client-ca-file`, `requestheader-client-ca-file` (PEM), and
//! `requestheader-allowed-names`, `requestheader-username-headers`,
//! `requestheader-uid-headers`, `requestheader-group-headers`,
//! `requestheader-extra-headers-prefix` (JSON string arrays). Flags override
//! each field; out of cluster the flags alone are enough.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::authn::Source;

/// Name of the ConfigMap.
pub const CONFIGMAP: &str = "extension-apiserver-authentication";
/// Its namespace.
pub const NAMESPACE: &str = "kube-system";

/// Why the authentication settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag's file could not be read.
    #[error("cannot read {flag} {path}: {source}")]
    Read {
        /// Flag name.
        flag: &'static str,
        /// File path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// A ConfigMap key is not a JSON array of strings.
    #[error("{NAMESPACE}/{CONFIGMAP} key {key}: not a JSON array of strings: {detail}")]
    BadList {
        /// The key.
        key: &'static str,
        /// JSON error.
        detail: String,
    },
}

/// Flag overrides; `None`/empty = take the ConfigMap's value.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--client-ca-file`.
    pub client_ca_file: Option<PathBuf>,
    /// `--requestheader-client-ca-file`.
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// `--requestheader-allowed-names`.
    pub requestheader_allowed_names: Option<Vec<String>>,
    /// `--requestheader-username-headers`.
    pub requestheader_username_headers: Option<Vec<String>>,
    /// `--requestheader-uid-headers`.
    pub requestheader_uid_headers: Option<Vec<String>>,
    /// `--requestheader-group-headers`.
    pub requestheader_group_headers: Option<Vec<String>>,
    /// `--requestheader-extra-headers-prefix`.
    pub requestheader_extra_headers_prefix: Option<Vec<String>>,
}

fn list(data: &BTreeMap<String, String>, key: &'static str) -> Result<Option<Vec<String>>, Error> {
    data.get(key)
        .map(|v| {
            serde_json::from_str::<Vec<String>>(v).map_err(|e| Error::BadList {
                key,
                detail: e.to_string(),
            })
        })
        .transpose()
}

fn read(flag: &'static str, p: &PathBuf) -> Result<Vec<u8>, Error> {
    std::fs::read(p).map_err(|source| Error::Read {
        flag,
        path: p.display().to_string(),
        source,
    })
}

fn lower(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Overrides {
    /// Combines the ConfigMap's data (if read) with the flags.
    pub fn resolve(&self, data: Option<&BTreeMap<String, String>>) -> Result<Source, Error> {
        let empty = BTreeMap::new();
        let data = data.unwrap_or(&empty);
        let pick =
            |flag: &Option<Vec<String>>, key, default: &[&str]| -> Result<Vec<String>, Error> {
                Ok(match flag {
                    Some(v) => v.clone(),
                    None => list(data, key)?
                        .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect()),
                })
            };
        let client_ca_pem = match &self.client_ca_file {
            Some(p) => Some(read("--client-ca-file", p)?),
            None => data.get("client-ca-file").map(|s| s.as_bytes().to_vec()),
        };
        let requestheader_ca_pem = match &self.requestheader_client_ca_file {
            Some(p) => Some(read("--requestheader-client-ca-file", p)?),
            None => data
                .get("requestheader-client-ca-file")
                .map(|s| s.as_bytes().to_vec()),
        };
        // Header names compare case-insensitively; the http crate stores them lowercase.
        Ok(Source {
            client_ca_pem,
            requestheader_ca_pem,
            allowed_names: pick(
                &self.requestheader_allowed_names,
                "requestheader-allowed-names",
                &[],
            )?,
            username_headers: lower(pick(
                &self.requestheader_username_headers,
                "requestheader-username-headers",
                &["X-Remote-User"],
            )?),
            uid_headers: lower(pick(
                &self.requestheader_uid_headers,
                "requestheader-uid-headers",
                &[],
            )?),
            group_headers: lower(pick(
                &self.requestheader_group_headers,
                "requestheader-group-headers",
                &["X-Remote-Group"],
            )?),
            extra_prefixes: lower(pick(
                &self.requestheader_extra_headers_prefix,
                "requestheader-extra-headers-prefix",
                &["X-Remote-Extra-"],
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_then_flags() {
        let mut data = BTreeMap::new();
        data.insert(
            "requestheader-allowed-names".into(),
            "[\"front-proxy-client\"]".into(),
        );
        data.insert(
            "requestheader-username-headers".into(),
            "[\"X-Remote-User\"]".into(),
        );
        data.insert(
            "requestheader-group-headers".into(),
            "[\"X-Remote-Group\"]".into(),
        );
        data.insert(
            "requestheader-extra-headers-prefix".into(),
            "[\"X-Remote-Extra-\"]".into(),
        );
        data.insert("requestheader-client-ca-file".into(), "PEM".into());
        let s = Overrides::default().resolve(Some(&data)).unwrap();
        assert_eq!(s.allowed_names, ["front-proxy-client"]);
        assert_eq!(s.username_headers, ["x-remote-user"]);
        assert_eq!(s.extra_prefixes, ["x-remote-extra-"]);
        assert_eq!(s.requestheader_ca_pem.as_deref(), Some(&b"PEM"[..]));
        assert!(s.client_ca_pem.is_none());

        let o = Overrides {
            requestheader_allowed_names: Some(vec![]),
            ..Overrides::default()
        };
        assert!(o.resolve(Some(&data)).unwrap().allowed_names.is_empty());

        data.insert("requestheader-group-headers".into(), "not json".into());
        let e = Overrides::default().resolve(Some(&data)).unwrap_err();
        assert!(e.to_string().contains("requestheader-group-headers"), "{e}");
    }

    #[test]
    fn defaults_without_configmap() {
        let s = Overrides::default().resolve(None).unwrap();
        assert_eq!(s.username_headers, ["x-remote-user"]);
        assert_eq!(s.group_headers, ["x-remote-group"]);
        assert!(s.requestheader_ca_pem.is_none());
    }
}
