//! `publish`: build, sign, submit, upload, and optionally wait — through the library's one
//! publish flow ([`wargdash::publish::sign_track_submit`]).

use super::output::{
    describe_state, errln, outln, parse_id, parse_package, print_json, state_exit_code,
};
use super::{Env, PublishAction, PublishArgs};
use color_eyre::eyre::eyre;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use wargdash::exit::{self, api_fail, fail, CmdResult, Fail};
use wargdash::ids::{ContentDigest, KeyId, PackageName, RecordId};
use wargdash::keys::SigningKey;
use wargdash::publish::{self, PublishError};
use wargdash::record::{Entry, Permission};
use wargdash::registry::{PackageRecord, RecordState, RegistryClient};
use wargdash::tracker::poll;
use wargdash::tracker::store::Store;

/// Reads a release file through one descriptor: a regular file of at most `max` bytes, read
/// through a bounded reader ([`wargdash::fsutil::read_content`]); a FIFO or a device such as
/// `/dev/zero` is refused before a byte is read.
fn read_capped(path: &std::path::Path, max: u64) -> color_eyre::Result<Vec<u8>> {
    Ok(wargdash::fsutil::read_content(path, max)?)
}

/// Builds the entries and the content to upload for a publish action.
fn action_entries(
    action: &PublishAction,
    signer: &SigningKey,
    max_file: u64,
) -> Result<(Vec<Entry>, publish::Contents), Fail> {
    let usage = |e: color_eyre::Report| fail(exit::USAGE, e);
    let mut contents = BTreeMap::new();
    let entry = match action {
        PublishAction::Init => Entry::Init {
            public_key: signer.public_key(),
        },
        PublishAction::Release { version, file } => {
            let bytes = read_capped(file, max_file).map_err(usage)?;
            let digest = ContentDigest::of_bytes(&bytes);
            contents.insert(digest, bytes);
            Entry::Release {
                version: version.clone(),
                digest,
            }
        }
        PublishAction::Yank { version } => Entry::Yank {
            version: version.clone(),
        },
        PublishAction::Grant {
            public_key,
            permissions,
        } => Entry::Grant {
            public_key: public_key.clone(),
            permissions: Permission::parse_list(permissions).map_err(usage)?,
        },
        PublishAction::Revoke {
            key_id,
            permissions,
        } => Entry::Revoke {
            key_id: parse_id::<KeyId>(key_id)?,
            permissions: Permission::parse_list(permissions).map_err(usage)?,
        },
    };
    entry.validate().map_err(usage)?;
    Ok((vec![entry], contents))
}

fn publish_fail(e: PublishError) -> Fail {
    Fail {
        code: wargdash::exit::publish_code(&e),
        report: eyre!(e),
    }
}

pub async fn publish_cmd(env: &Env<'_>, args: PublishArgs) -> CmdResult {
    let ctx = env.ctx;
    let package = parse_package(&args.package)?;
    let signer =
        tokio::task::block_in_place(|| ctx.signer(args.key.as_deref(), args.key_file.as_ref()))?;
    let (entries, contents) = tokio::task::block_in_place(|| {
        action_entries(&args.action, &signer, args.max_file_mib << 20)
    })?;
    let client = ctx.client()?;
    let mut store = ctx.store()?;
    let wait = args.wait || args.rebuild;
    let mut rebuilds_left = if args.rebuild { 3 } else { 0 };
    let mut stale_head: Option<Option<RecordId>> = None;
    // The rejected record the next submit rebuilds, and why it was rejected.
    let mut rebuilding: Option<(RecordId, String)> = None;
    loop {
        let opts = publish::BuildOptions {
            auto_init: args.init.then_some(&signer),
            now: None,
            allow_clock_skew: args.allow_clock_skew,
        };
        let mut prepared = match publish::prepare(&client, &package, entries.clone(), opts).await {
            // An init this command submitted that is still pending is the reason, not a
            // missing log.
            Err(PublishError::NoLog(p)) => {
                let tracked = store.list().unwrap_or_else(|e| {
                    tracing::warn!("listing tracked records for a pending init: {e:#}");
                    Vec::new()
                });
                let pending = publish::pending_init_message(
                    &p,
                    tracked.iter().map(|t| {
                        (
                            t.package.as_deref().unwrap_or(""),
                            t.entries.as_deref(),
                            t.state.as_deref().unwrap_or("unknown"),
                            t.record_id,
                        )
                    }),
                );
                return Err(match pending {
                    Some(msg) => fail(exit::USAGE, eyre!(msg)),
                    None => publish_fail(PublishError::NoLog(p)),
                });
            }
            r => r.map_err(publish_fail)?,
        };
        // After a head-moved rejection, the new head is visible once the registry's next
        // checkpoint includes it.
        let deadline = Instant::now() + Duration::from_secs(60);
        while stale_head == Some(prepared.head) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            prepared = publish::prepare(&client, &package, entries.clone(), opts)
                .await
                .map_err(publish_fail)?;
        }
        for w in &prepared.warnings {
            errln!("warning: {}", wargdash::text::clean(w));
        }
        // The command runs on the thread that drives the runtime (`block_on` in main), not on
        // a worker, so the store's writes inside the flow do not stall other tasks.
        let (r, answer) = publish::sign_track_submit(
            &client,
            &mut store,
            &signer,
            &prepared,
            &contents,
            args.resubmit,
            |p| errln!("{p}"),
        )
        .await
        .map_err(publish_fail)?;
        if let Some((original, reason)) = rebuilding.take() {
            let link = wargdash::tracker::links::RebuildLink { original, reason };
            if let Err(e) = store.set_rebuilds(&r, &link) {
                tracing::warn!("remembering the rebuild link: {e:#}");
            }
        }
        let last = if wait && !answer.state.is_terminal() {
            match wait_terminal(&client, &mut store, r, answer, args.timeout).await? {
                Ok(rec) => rec,
                Err(rec) => {
                    emit_publish_result(env, &package, &rec)?;
                    return Ok(exit::WAIT_TIMEOUT);
                }
            }
        } else {
            answer
        };
        if let RecordState::Rejected { reason } = &last.state {
            if publish::head_moved(reason) {
                errln!("note: {}", publish::head_moved_hint(&package));
                if rebuilds_left > 0 {
                    rebuilds_left -= 1;
                    stale_head = Some(prepared.head);
                    rebuilding = Some((r.record, reason.clone()));
                    errln!("rebuilding on the new head");
                    continue;
                }
                errln!("hint: run the same command again, or pass --rebuild to rebuild and resubmit automatically");
            }
        }
        emit_publish_result(env, &package, &last)?;
        return Ok(if wait {
            state_exit_code(&last.state)
        } else {
            exit::OK
        });
    }
}

/// Polls until the record is published or rejected (`Ok`), or `timeout` seconds pass (`Err`
/// with the last state seen).
async fn wait_terminal(
    client: &RegistryClient,
    store: &mut Store,
    r: wargdash::ids::RecordRef,
    mut last: PackageRecord,
    timeout: u64,
) -> Result<Result<PackageRecord, PackageRecord>, Fail> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut shown = String::new();
    loop {
        if Instant::now() >= deadline {
            errln!("still {} after {timeout}s", last.state.name());
            return Ok(Err(last));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let polled = poll::poll_one(client, r.log, r.record).await;
        let outcome = polled.outcome();
        tokio::task::block_in_place(|| {
            if let Err(e) = store.record_polls(&[outcome]) {
                tracing::error!("recording a poll: {e:#}");
            }
        });
        match polled.result {
            Ok((rec, _)) => {
                if rec.state.name() != shown {
                    shown = rec.state.name().to_string();
                    errln!("state: {shown}");
                }
                last = rec;
                if last.state.is_terminal() {
                    return Ok(Ok(last));
                }
            }
            Err(e) if e.is_transient() => {
                errln!(
                    "poll failed, retrying: {}",
                    wargdash::text::clean(&e.to_string())
                )
            }
            Err(e) => return Err(api_fail(e)),
        }
    }
}

fn emit_publish_result(
    env: &Env<'_>,
    package: &PackageName,
    rec: &PackageRecord,
) -> color_eyre::Result<()> {
    if env.json {
        let mut v = serde_json::to_value(rec)?;
        v["package"] = package.to_string().into();
        v["logId"] = package.log_id().to_string().into();
        print_json(&v)?;
    } else {
        outln!("{} {}: {}", package, rec.record_id, describe_state(rec))?;
    }
    Ok(())
}
