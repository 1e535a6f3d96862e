//! Registry endpoints the trust engine needs ([`crate::trust`]): the raw checkpoint, the
//! ledger, the operator log, and the proof endpoints. Same request, size-cap and error
//! machinery as the rest of the client.

use super::client::{Body, RegistryClient};
use super::error::{excerpt, ApiError};
use super::model::LedgerSources;
use super::model::SignedCheckpoint;
use crate::ids::{LogId, RecordId};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// One operator record as `fetch/logs` returns it (content kept as its base64 text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorEnvelope {
    pub content_bytes: String,
    pub key_id: String,
    pub signature: String,
    pub registry_index: u64,
    pub fetch_token: String,
}

/// A page of the operator log.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorLogPage {
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub operator: Vec<OperatorEnvelope>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FetchOperatorRequest<'a> {
    log_length: u64,
    limit: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    operator: Option<&'a RecordId>,
}

/// One package record as `fetch/logs` returns it (content kept as its base64 text), validated
/// with [`crate::trust::package::validate_package_log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageEnvelope {
    pub content_bytes: String,
    pub key_id: String,
    pub signature: String,
    pub registry_index: u64,
    pub fetch_token: String,
}

/// A page of package logs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageLogPage {
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub packages: std::collections::BTreeMap<LogId, Vec<PackageEnvelope>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FetchPackageRequest<'a> {
    log_length: u64,
    limit: u16,
    packages: std::collections::BTreeMap<&'a LogId, Option<&'a RecordId>>,
}

/// `proof/inclusion` answer: base64 protobuf bundles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionAnswer {
    pub log: String,
    pub map: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ConsistencyAnswer {
    proof: String,
}

impl RegistryClient {
    /// `POST` a JSON request to a registry path and parse the JSON answer.
    async fn post_json<Req: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        req: &Req,
        what: &str,
    ) -> Result<T, ApiError> {
        let body = encode(req)?;
        Ok(self
            .call(Method::POST, path, Some(Body::Json(body)), what)
            .await?
            .0)
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v).map_err(|e| ApiError::Invalid {
        status: 0,
        message: format!("encoding the request: {e}"),
    })
}

fn url(client: &RegistryClient, path: &str) -> Result<url::Url, ApiError> {
    client.base().join(path).map_err(|e| ApiError::Invalid {
        status: 0,
        message: format!("cannot build a URL from `{path}`: {e}"),
    })
}

impl RegistryClient {
    /// `GET /v1/fetch/checkpoint`, with the body's exact text.
    pub async fn checkpoint_raw(&self) -> Result<(SignedCheckpoint, String), ApiError> {
        let u = url(self, "v1/fetch/checkpoint")?;
        let (status, body) = self.send(Method::GET, u.clone(), None).await?;
        if !status.is_success() {
            return Err(self.error_for(&u, status, &body));
        }
        let cp: SignedCheckpoint =
            serde_json::from_slice(&body).map_err(|e| ApiError::BadBody {
                status: status.as_u16(),
                context: format!("the checkpoint: {e}"),
                excerpt: excerpt(&body, 200),
            })?;
        Ok((cp, String::from_utf8_lossy(&body).into_owned()))
    }

    /// `GET /v1/ledger`. A registry without a ledger answers 404 (`NoSuchEndpoint`).
    pub async fn ledger_sources(&self) -> Result<LedgerSources, ApiError> {
        Ok(self
            .call(Method::GET, "v1/ledger", None, "the ledger sources")
            .await?
            .0)
    }

    /// `GET /v1/ledger/records/{start}`: the packed bytes (parse with
    /// [`crate::trust::ledger::parse_page`]).
    pub async fn ledger_page(&self, start: u64) -> Result<Vec<u8>, ApiError> {
        let u = url(self, &format!("v1/ledger/records/{start}"))?;
        let (status, body) = self.send(Method::GET, u.clone(), None).await?;
        if !status.is_success() {
            return Err(self.error_for(&u, status, &body));
        }
        Ok(body)
    }

    /// `POST /v1/fetch/logs {"logLength", "limit", "operator"?}`: one page of the operator log
    /// after `since` (exclusive; `None` = from its start).
    pub async fn fetch_operator_log(
        &self,
        log_length: u64,
        since: Option<&RecordId>,
        limit: u16,
    ) -> Result<OperatorLogPage, ApiError> {
        self.post_json(
            "v1/fetch/logs",
            &FetchOperatorRequest {
                log_length,
                limit,
                operator: since,
            },
            "the operator log",
        )
        .await
    }

    /// `POST /v1/fetch/logs {"logLength", "limit", "packages": {logId: since}}`: one page of a
    /// package log after `since` (exclusive; `None` = from its start). An unknown log is
    /// `NotFound { what: "log" }`.
    pub async fn fetch_package_log_page(
        &self,
        log_length: u64,
        log: &LogId,
        since: Option<&RecordId>,
        limit: u16,
    ) -> Result<PackageLogPage, ApiError> {
        self.post_json(
            "v1/fetch/logs",
            &FetchPackageRequest {
                log_length,
                limit,
                packages: std::collections::BTreeMap::from([(log, since)]),
            },
            "the package log",
        )
        .await
    }

    /// `POST /v1/fetch/logs` for many package logs at once, each after its own `since`
    /// (`None` = from its start); `limit` applies to each log. The whole request fails when one
    /// log is unknown (`NotFound { what: "log", id }` names it).
    pub async fn fetch_package_logs_page(
        &self,
        log_length: u64,
        logs: &std::collections::BTreeMap<LogId, Option<RecordId>>,
        limit: u16,
    ) -> Result<PackageLogPage, ApiError> {
        self.post_json(
            "v1/fetch/logs",
            &FetchPackageRequest {
                log_length,
                limit,
                packages: logs.iter().map(|(l, s)| (l, s.as_ref())).collect(),
            },
            "package logs",
        )
        .await
    }

    /// `POST /v1/proof/inclusion {"logLength", "leafs"}` (verify with
    /// [`crate::trust::map::verify_inclusion`]).
    pub async fn proof_inclusion(
        &self,
        log_length: u64,
        leafs: &[u64],
    ) -> Result<InclusionAnswer, ApiError> {
        self.post_json(
            "v1/proof/inclusion",
            &serde_json::json!({"logLength": log_length, "leafs": leafs}),
            "the inclusion proof",
        )
        .await
    }

    /// `POST /v1/proof/consistency {"from", "to"}`: the base64 bundle (verify with
    /// [`crate::trust::map::verify_consistency`]). Only ask for lengths of signed checkpoints.
    pub async fn proof_consistency(&self, from: u64, to: u64) -> Result<String, ApiError> {
        let a: ConsistencyAnswer = self
            .post_json(
                "v1/proof/consistency",
                &serde_json::json!({"from": from, "to": to}),
                "the consistency proof",
            )
            .await?;
        Ok(a.proof)
    }
}
