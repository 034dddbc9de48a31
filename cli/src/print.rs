//! Human-readable output. Everything here has a `--json` twin in the commands.

use mrm_crdt::conflicts::Conflict;
use mrm_crdt::history::HistoryEntry;
use mrm_crdt::model::Patrol;
use mrm_store::{IncidentRow, IncidentView, Page, PatrolRow, Stats};

/// Report whether an edit changed anything.
pub fn changed(hash: Option<String>) {
    match hash {
        Some(h) => println!("saved (change {})", &h[..12.min(h.len())]),
        None => println!("nothing changed"),
    }
}

/// A stored time (RFC 3339, in its writer's offset) as the reader's local time, to the minute,
/// with the writer's own day when it is another: that day is the one the reporting rules count
/// (a verification late or in time).
fn short_time(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(at) => {
            let local = at.with_timezone(&chrono::Local);
            let shown = local.format("%Y-%m-%d %H:%M").to_string();
            if local.date_naive() == at.date_naive() {
                shown
            } else {
                format!("{shown} (the writer's day: {})", at.date_naive())
            }
        }
        Err(_) => t.to_string(),
    }
}

/// What a record said of its author when the endpoint's registry names the writer otherwise.
fn wrote_as(declared: &Option<String>) -> String {
    declared
        .as_ref()
        .map(|d| format!(" [wrote as {d:?}]"))
        .unwrap_or_default()
}

pub fn incident(v: &IncidentView) {
    let i = &v.incident;
    println!("{}  [{}]", i.title, i.review.state);
    println!("  id          {}", i.id);
    println!(
        "  occurred    {} ({})   reported {}",
        i.occurred_on, i.date_precision, i.reported_on
    );
    let loc = &i.location;
    let mut place = vec![loc.admin1.as_str(), loc.admin2.as_str(), loc.place.as_str()];
    place.retain(|s| !s.is_empty());
    print!("  location    {}", place.join(" / "));
    if let (Some(lat), Some(lon)) = (loc.lat, loc.lon) {
        print!(" ({lat:.4}, {lon:.4})");
    }
    println!();
    println!(
        "  team        {}   recorded by {}{}",
        i.team,
        i.created_by,
        wrote_as(&v.created_by_declared)
    );
    if let Some(p) = &i.patrol_id {
        println!("  patrol      {p}");
    }
    if !i.narrative.is_empty() {
        println!("  narrative   {}", i.narrative);
    }
    if !i.sources.is_empty() {
        println!("  sources");
        for (n, s) in i.sources.iter().enumerate() {
            let consent = if s.consent { "consent" } else { "no consent" };
            println!("    {}. {} ({consent})  {}", n + 1, s.kind, s.id);
            if let Some(w) = &s.withdrawn {
                println!("       {}", withdrawal(w));
            }
            if !s.notes.is_empty() {
                println!("       {}", s.notes);
            }
        }
    }
    println!("  violations");
    if i.violations.is_empty() {
        println!("    (none yet)");
    }
    for (n, viol) in i.violations.iter().enumerate() {
        let st = v.status.iter().find(|s| s.violation_id == viol.id);
        let late = if st.is_some_and(|s| s.late) {
            " (late)"
        } else {
            ""
        };
        let contested = match st.map(|s| s.contested.as_slice()) {
            Some(c) if !c.is_empty() => {
                let list: Vec<&str> = c.iter().map(|s| s.as_str()).collect();
                format!(
                    " (CONFLICTING DECISIONS: {}; counted as shown)",
                    list.join(" / ")
                )
            }
            _ => String::new(),
        };
        let party = if viol.perpetrator.party.is_empty() {
            "party unknown".to_string()
        } else {
            viol.perpetrator.party.clone()
        };
        println!(
            "    {}. {}  boys {} girls {} unknown {}  {} ({})  status {}{late}{contested}",
            n + 1,
            viol.kind,
            viol.victims.boys,
            viol.victims.girls,
            viol.victims.sex_unknown,
            party,
            viol.perpetrator.category,
            viol.status()
        );
        println!("       id {}", viol.id);
        if !viol.details.is_empty() {
            let list: Vec<String> = viol
                .details
                .iter()
                .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
                .collect();
            println!("       {}", list.join(", "));
        }
        if let Some(w) = &viol.withdrawn {
            println!("       {} (not counted in figures)", withdrawal(w));
        }
        for c in &viol.victims.coded {
            let age = c.age.map(|a| format!(", age {a}")).unwrap_or_default();
            println!("       coded victim {} ({}{age})", c.code, c.sex);
        }
        for e in &viol.verification {
            println!(
                "       {}  {} by {}{}{}",
                short_time(&e.at),
                e.status,
                e.by,
                wrote_as(&e.declared_by),
                said(&e.note)
            );
        }
    }
    if !i.review.comments.is_empty() {
        println!("  review comments");
        for c in &i.review.comments {
            println!(
                "    {}  {}{}: {}",
                short_time(&c.at),
                c.by,
                wrote_as(&c.declared_by),
                c.text
            );
        }
    }
    if let Some(s) = &i.split_from {
        println!("  split from  {} (recorded apart under that id)", s.record);
    }
    for s in &i.split_off {
        println!("  split into  {} (recorded apart under this id)", s.record);
    }
    if !v.attention.is_empty() {
        println!("  NEEDS ATTENTION (the merged record breaks a rule; edits stay possible)");
        for a in &v.attention {
            println!("    {}: {}", a.field, a.message);
        }
    }
    if !v.conflicts.is_empty() {
        println!(
            "  CONFLICTS (resolve with `mrm incident resolve {} --field PATH --value JSON`)",
            i.id
        );
        conflicts(&v.conflicts);
    }
}

/// `": text"`, or nothing for an empty text.
fn said(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// A withdrawal in one line: when, who and why.
fn withdrawal(w: &mrm_crdt::model::Withdrawal) -> String {
    format!(
        "WITHDRAWN {} by {}{}",
        short_time(&w.at),
        w.by,
        said(&w.reason)
    )
}

pub fn conflicts(list: &[Conflict]) {
    if list.is_empty() {
        println!("no conflicts");
    }
    for c in list {
        println!("    {}", c.path);
        for v in &c.values {
            println!("      {}   by {} at {}", v.value, v.by, short_time(&v.at));
        }
    }
}

pub fn incidents(page: &Page<IncidentRow>) {
    println!(
        "{} incident(s) match; showing {}",
        page.total,
        page.items.len()
    );
    for i in &page.items {
        let kinds: Vec<String> = i
            .violations
            .iter()
            .map(|v| format!("{}:{}", v.kind, v.status))
            .collect();
        let children: i64 = i
            .violations
            .iter()
            .map(|v| v.boys + v.girls + v.sex_unknown)
            .sum();
        let mut conflict = if i.conflicts > 0 {
            format!("  {} conflict(s)", i.conflicts)
        } else {
            String::new()
        };
        if i.attention > 0 {
            conflict.push_str(&format!("  NEEDS ATTENTION ({})", i.attention));
        }
        // Where it stands with the endpoint, when not simply synced (`mrm status` says why).
        conflict.push_str(match i.sync.state {
            mrm_store::RecordSync::Synced => "",
            mrm_store::RecordSync::ToSend => "  TO SEND",
            mrm_store::RecordSync::Held => "  HELD",
            mrm_store::RecordSync::Waiting => "  WAITING",
        });
        println!(
            "{}  {}  {:<12} {}  [{}] children {}  {}{conflict}",
            i.occurred_on,
            i.id,
            i.admin1,
            i.title,
            i.review_state,
            children,
            kinds.join(" ")
        );
    }
}

pub fn patrol(p: &Patrol) {
    println!("patrol {} on {} (team {})", p.id, p.date, p.team);
    println!("  route         {}", p.route.join(" → "));
    println!("  participants  {}", p.participants.join(", "));
    if !p.notes.is_empty() {
        println!("  notes         {}", p.notes);
    }
    match &p.ended_at {
        Some(t) => println!("  ended         {t}"),
        None => println!("  under way"),
    }
}

pub fn patrols(list: &[PatrolRow]) {
    println!("{} patrol(s)", list.len());
    for p in list {
        let state = if p.ended_at.is_some() {
            "ended"
        } else {
            "under way"
        };
        println!(
            "{}  {}  team {:<8} {:<10} {} incident(s)  {}",
            p.date,
            p.id,
            p.team,
            state,
            p.incidents,
            p.route.join(" → ")
        );
    }
}

pub fn history(h: &[HistoryEntry]) {
    for e in h {
        // The endpoint's registry names the author; a change that said otherwise says so.
        let declared = wrote_as(&e.declared_by);
        println!(
            "{}  {:<16} {}  ({}){declared}",
            short_time(&e.at),
            e.by,
            e.message,
            &e.hash[..12.min(e.hash.len())]
        );
        let value = |v: &Option<serde_json::Value>| match v {
            None => "—".to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        for c in &e.changes {
            println!("    {}: {} → {}", c.path, value(&c.before), value(&c.after));
        }
    }
}

pub fn stats(s: &Stats) {
    println!(
        "incidents {}   patrols {}   violations {}",
        s.incidents, s.patrols, s.violations
    );
    println!("violations by type");
    for (k, n) in &s.violations_by_type {
        println!("  {k:<28} {n}");
    }
    println!("violations by verification status");
    for (k, n) in &s.violations_by_status {
        println!("  {k:<28} {n}");
    }
    let c = &s.children;
    println!(
        "children in all reported violations   boys {}  girls {}  sex unknown {}  total {}",
        c.boys, c.girls, c.sex_unknown, c.total
    );
    let v = &s.verified_children;
    println!(
        "children in verified violations       boys {}  girls {}  sex unknown {}  total {}",
        v.boys, v.girls, v.sex_unknown, v.total
    );
    println!(
        "verified {} of {} reported violations; {} verified late; {} incident(s) with conflicts",
        s.verified_violations, s.violations, s.late_verifications, s.incidents_with_conflicts
    );
}
