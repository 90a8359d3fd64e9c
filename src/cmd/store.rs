//! `warden store inspect | verify | bench`: offline tools over a scene store
//! directory. The logic lives in `warden-store`; this file parses and prints.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use warden_store::bench::{self, AcksLog, BenchConfig};
use warden_store::{AuditEntry, Store, StoreConfig};

/// Arguments of `warden store`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Records, versions, each topic's compaction point, and the audit tail.
    Inspect {
        /// The store's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print one JSON object (`version`, `records`, `history`, and with `--audit`, `audit`).
        #[arg(long)]
        json: bool,
        /// Include every audit entry, not just the tail.
        #[arg(long)]
        audit: bool,
    },
    /// Check the file and replay the log; exits non-zero on any inconsistency.
    Verify {
        /// The store's data directory.
        #[arg(long)]
        data: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// N concurrent writers apply M durable updates; acks/s and ack latency.
    Bench {
        /// The store's data directory (created if missing).
        #[arg(long)]
        data: PathBuf,
        /// Concurrent writers.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
        writers: u32,
        /// Updates in total.
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
        updates: u64,
        /// Run on a store that already holds records. The bench seeds its
        /// own layers, dims and camera records, replacing what is there;
        /// without this flag a non-empty store is refused.
        #[arg(long)]
        overwrite: bool,
        /// Append `VERSION SCOPE TARGET KEY VALUE_JSON` per ack, flushed as it is acked.
        #[arg(long)]
        acks_log: Option<PathBuf>,
        /// Print the result as JSON (`acks_per_sec`, `p50_ms`, `p99_ms`, ...).
        #[arg(long)]
        json: bool,
    },
}

/// Run the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Inspect { data, json, audit } => inspect(data, json, audit),
        Command::Verify { data, json } => verify(data, json),
        Command::Bench {
            data,
            writers,
            updates,
            overwrite,
            acks_log,
            json,
        } => {
            let writers =
                usize::try_from(writers).context("--writers does not fit this platform")?;
            let config = BenchConfig { writers, updates };
            run_bench(data, config, overwrite, acks_log, json)
        }
    }
}

/// How many versions of audit the human output shows.
const AUDIT_TAIL: u64 = 10;

fn inspect(data: PathBuf, json: bool, audit: bool) -> anyhow::Result<ExitCode> {
    let (report, tail) = warden_store::inspect(&data, audit, AUDIT_TAIL)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "store {}: version {}, {} records",
        data.display(),
        report.version,
        report.records.len()
    )?;
    for h in &report.history {
        writeln!(
            out,
            "  history {:<7} {:>6} entries, compacted at {}",
            h.scope.as_str(),
            h.entries,
            h.compacted_at
        )?;
    }
    writeln!(out, "records:")?;
    for r in &report.records {
        writeln!(
            out,
            "  {:<7} {:<12} {:<13} v{:<8} {:<12} {}",
            r.scope.as_str(),
            r.target,
            r.key,
            r.version,
            r.actor_id,
            r.value
        )?;
    }
    let shown = report.audit.as_deref().unwrap_or(&tail);
    let heading = if report.audit.is_some() {
        "audit:"
    } else {
        "audit (tail):"
    };
    writeln!(out, "{heading}")?;
    for a in shown {
        writeln!(out, "  {}", audit_line(a))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn audit_line(a: &AuditEntry) -> String {
    let show = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string)
    };
    format!(
        "v{} {} {}/{}/{}: {} -> {}",
        a.version,
        a.actor,
        a.scope,
        a.target,
        a.key,
        show(&a.old),
        show(&a.new)
    )
}

fn verify(data: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let report = warden_store::verify(&data, &mut |done, total| {
        eprint!("\rverify: replayed {done}/{total} log entries");
    })?;
    eprintln!();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        let verdict = if report.ok { "ok" } else { "INCONSISTENT" };
        writeln!(
            out,
            "{verdict}: {} — version {}, {} log entries replayed, {} records, redb integrity {}",
            report.path,
            report.version,
            report.entries,
            report.records,
            if report.integrity { "ok" } else { "repaired" }
        )?;
        for p in &report.problems {
            writeln!(out, "  problem: {p}")?;
        }
        if report.problem_count > report.problems.len() {
            writeln!(
                out,
                "  ... and {} more",
                report.problem_count - report.problems.len()
            )?;
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_bench(
    data: PathBuf,
    config: BenchConfig,
    overwrite: bool,
    acks_log: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(&data, StoreConfig::default())?;
    if store.version() > 0 && !overwrite {
        let version = store.version();
        store.close()?;
        bail!(
            "{} already holds a store (version {version}); the bench would replace its \
             records with its own: give it a new directory, or pass --overwrite",
            data.display()
        );
    }
    let log = acks_log
        .as_deref()
        .map(AcksLog::append_to)
        .transpose()
        .with_context(|| {
            format!(
                "cannot open the acks log {}",
                acks_log.as_deref().unwrap_or(data.as_path()).display()
            )
        })?;
    let total = config.updates;
    let report = bench::run(&store, config, log.as_ref(), &|acks| {
        eprintln!("bench: {acks}/{total} acked");
    })?;
    store.close()?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} writers, {} durable acks in {:.2} s: {:.0} acks/s, ack p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; \
             {} commits, {:.1} updates per commit; {} rejects; version {}",
            report.writers,
            report.acks,
            report.elapsed_s,
            report.acks_per_sec,
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            report.commits,
            report.mean_batch,
            report.rejects,
            report.version
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
