//! Pull pages: the changes after a device's cursor within its scope, capped by count and bytes.

use mrm_crdt::activity::ActivityKind;
use mrm_crdt::bundle::Frames;
use mrm_crdt::document::RecordKind;
use mrm_crdt::protocol::{PullHeader, PULL_PAGE, PULL_PAGE_BYTES};

use super::{entry, lock, now, Service};
use crate::error::Result;
use crate::model::Device;
use crate::repository::{AuditAction, PageRequest, Repository, Scope};

/// What `device` reads of the log. A device is not sent its own changes back: it made them and
/// keeps them in its log (append-only), so echoing them only cost bandwidth and an import that
/// finds them all duplicates. The configuration and the registry belong to the whole mission:
/// every device gets them. A closed reporting period is the whole mission's figures, down to
/// each counted record's id, area and party, and its flagged titles: only roles that see the
/// whole mission get it, as they get every team's records.
pub fn scope_of(device: &Device) -> Scope {
    let names = |kinds: &[RecordKind]| kinds.iter().map(|k| k.as_str().to_string()).collect();
    Scope {
        exclude_device: device.id.clone(),
        team: (!device.role.sees_whole_mission()).then(|| device.team.clone()),
        // A period is never a team's, whatever team a writer put in it.
        team_kinds: names(&[
            RecordKind::Incident,
            RecordKind::Patrol,
            RecordKind::Activity(ActivityKind::Release),
            RecordKind::Activity(ActivityKind::Training),
            RecordKind::Activity(ActivityKind::Engagement),
        ]),
        shared_kinds: names(&[RecordKind::Config, RecordKind::Registry]),
    }
}

impl<R: Repository> Service<R> {
    /// A page of the changes after `cursor` that `device` may see ([`scope_of`]), with the
    /// history of records that entered its scope since; at most `limit` (clamped to 1 ..=
    /// `PULL_PAGE`) changes of the log and about `PULL_PAGE_BYTES`.
    pub async fn pull(
        &self,
        device: &Device,
        cursor: i64,
        limit: i64,
    ) -> Result<(PullHeader, Frames)> {
        let page = self
            .repo
            .page(&PageRequest {
                scope: scope_of(device),
                cursor,
                limit: limit.clamp(1, PULL_PAGE),
                max_bytes: PULL_PAGE_BYTES,
            })
            .await?;
        let header = PullHeader {
            cursor: page.cursor,
            more: page.remaining > 0,
            remaining: page.remaining,
            count: page.changes.len() as u64,
        };
        self.note_pull(device, cursor, &header, page.changes.len())
            .await?;
        Ok((header, page.changes))
    }

    /// Audit and date a pull. Pages that sent something are audited at most every 10 s per
    /// device, summed (a device asking in a loop costs the log a row per 10 s); an empty page
    /// only refreshes the device's last sync, at most once a minute.
    async fn note_pull(
        &self,
        device: &Device,
        cursor: i64,
        header: &PullHeader,
        sent_now: usize,
    ) -> Result<()> {
        if sent_now > 0 {
            let due = {
                let mut seen = lock(&self.pulls_seen);
                let e = seen.entry(device.id.clone()).or_insert((None, 0u64, 0u64));
                e.1 += 1;
                e.2 += sent_now as u64;
                let due =
                    e.0.is_none_or(|t: std::time::Instant| t.elapsed().as_secs() >= 10);
                if due {
                    let summed = (e.1, e.2);
                    *e = (Some(std::time::Instant::now()), 0, 0);
                    Some(summed)
                } else {
                    None
                }
            };
            if let Some((pages, sent)) = due {
                self.repo
                    .audit(entry(
                        AuditAction::SyncPull,
                        Some(&device.id),
                        serde_json::json!({"cursor": cursor, "sent": sent, "pages": pages,
                                           "next_cursor": header.cursor}),
                    ))
                    .await?;
            }
        }
        let a_minute_ago = (chrono::Utc::now() - chrono::Duration::minutes(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let unless = (sent_now == 0).then_some(a_minute_ago);
        self.repo
            .touch_device(&device.id, &now(), unless.as_deref())
            .await?;
        Ok(())
    }
}
